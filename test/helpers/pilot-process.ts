/**
 * Pilot as its own process, as it runs in production (the bundle of scripts/build-server.mjs,
 * made from the current src/ once per test process, started with `npm start`'s environment and
 * Node options), so tests can kill -9 it at any moment and start it again on the same data directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { installedLaunch } from '../../bench/launch.js';
import { runCommand } from './command.js';
import { freePort, localImages, removeInstanceObjects, stopChild, tempDir, testInstanceName } from './integration.js';

const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAUNCH = installedLaunch(CHECKOUT);
let bundle: Promise<string> | undefined;

/**
 * The server bundled from the current src/ (so never a stale `npm run build`), once per test
 * process, into a directory of its own two levels below the checkout as dist/server is.
 */
function bundledServer(): Promise<string> {
  bundle ??= (async () => {
    const dir = path.join(CHECKOUT, 'dist', `test-server-${process.pid}`);
    const built = await runCommand(process.execPath, [path.join(CHECKOUT, 'scripts', 'build-server.mjs'), dir]);
    if (built.code !== 0) throw new Error(`bundling the server failed:\n${built.output}`);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'main.mjs');
  })();
  return bundle;
}

export class PilotProcess {
  readonly dataDir = tempDir('proc-data');
  readonly instance = testInstanceName();
  readonly token = `test-admin-token-${this.instance}`;
  readonly domain = 'localhost';
  private child: ChildProcess | undefined;
  private env: Record<string, string> = {};
  private stderr = '';

  private constructor() {}

  static async start(env: Record<string, string> = {}): Promise<PilotProcess> {
    const pilot = new PilotProcess();
    const { nodeImage, staticImage } = localImages();
    pilot.env = {
      PATH: process.env.PATH ?? '',
      PILOT_DATA_DIR: pilot.dataDir,
      PILOT_PORT: String(await freePort()),
      PILOT_BIND: '127.0.0.1',
      PILOT_DOMAIN: pilot.domain,
      PILOT_HTTP_PORT: String(await freePort()),
      PILOT_HTTPS_PORT: String(await freePort()),
      PILOT_INSTANCE: pilot.instance,
      PILOT_ADMIN_TOKEN: pilot.token,
      PILOT_NODE_IMAGE: nodeImage,
      PILOT_STATIC_IMAGE: staticImage,
      PILOT_HEALTH_TIMEOUT: '30',
      PILOT_DRAIN_SECONDS: '3',
      PILOT_STOP_TIMEOUT: '5',
      PILOT_LOG_LEVEL: 'info',
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...env,
    };
    await pilot.launch();
    return pilot;
  }

  get address(): string {
    return `http://127.0.0.1:${this.env.PILOT_PORT}`;
  }

  get httpsPort(): number {
    return Number(this.env.PILOT_HTTPS_PORT);
  }

  get caFile(): string {
    return path.join(this.dataDir, 'caddy', 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  }

  get caddyfile(): string {
    return path.join(this.dataDir, 'caddy', 'Caddyfile');
  }

  /** The server's log so far (pino JSON lines on stdout and stderr). */
  get log(): string {
    return this.stderr;
  }

  /** Starts the server on the same data directory and waits until /health is green. */
  async launch(): Promise<void> {
    const child = spawn(process.execPath, [...LAUNCH.nodeFlags, await bundledServer()], { env: { ...LAUNCH.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`Pilot exited with ${child.exitCode}:\n${this.stderr}`);
      const health = await fetch(`${this.address}/health`).catch(() => undefined);
      if (health?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`Pilot did not become healthy:\n${this.stderr}`);
  }

  /** `pilot-server backup|restore FILE` with this server's environment. */
  async maintenance(command: 'backup' | 'restore', file: string): Promise<{ code: number | null; output: string }> {
    const server = await bundledServer();
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...LAUNCH.nodeFlags, server, command, file], { env: { ...LAUNCH.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
  }

  /** SIGTERM, as a service manager stops it; resolves with the exit code. */
  terminate(): Promise<number | null> {
    return stopChild(this.child, 'SIGTERM');
  }

  /** kill -9: no clean-up of any kind. */
  async crash(): Promise<void> {
    await stopChild(this.child, 'SIGKILL');
  }

  /** Reads the database as the server left it (WAL allows a reader beside the writer). */
  query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(path.join(this.dataDir, 'pilot.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  caddyLog(): string {
    const file = path.join(this.dataDir, 'caddy', 'caddy.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  caddyPid(): number | undefined {
    const file = path.join(this.dataDir, 'caddy', 'caddy.pid');
    return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : undefined;
  }

  /**
   * Kills the Caddy this Pilot ran, when its pid file still names a Caddy: a stale file's pid may
   * belong to another process by now (on a busy machine: another test's container's init).
   */
  killCaddy(): void {
    const caddy = this.caddyPid();
    if (!caddy) return;
    try {
      if (fs.readFileSync(`/proc/${caddy}/comm`, 'utf8').trim() === 'caddy') process.kill(caddy, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  async close(): Promise<void> {
    await this.crash();
    this.killCaddy();
    await removeInstanceObjects(this.instance);
  }
}
