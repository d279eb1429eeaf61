/**
 * The harness shared by integration and end-to-end tests: real Docker, a Caddy of the test's
 * own (local certificates, free ports), the real git client, and cleanup of everything a run
 * created (each run has its own PILOT_INSTANCE, data directory and ports).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import https from 'node:https';
import http from 'node:http';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { pino, type Logger } from 'pino';

const REQUIRED = process.env.PILOT_INTEGRATION === 'required';

/**
 * Why integration tests cannot run here, or undefined when they can. With
 * PILOT_INTEGRATION=required (CI) a missing dependency throws instead: a failure, not a skip.
 */
export function integrationSkipReason(): string | undefined {
  const missing: string[] = [];
  if (!commandWorks('docker', ['version', '--format', '{{.Server.Version}}'])) missing.push('a Docker engine');
  if (!commandWorks('caddy', ['version'])) missing.push('caddy');
  if (!commandWorks('git', ['--version'])) missing.push('git');
  if (missing.length === 0) return undefined;
  const reason = `integration tests need ${missing.join(', ')}`;
  if (REQUIRED) throw new Error(`${reason}, and PILOT_INTEGRATION=required: failing instead of skipping`);
  console.warn(`\n!!! SKIPPING integration tests: ${reason} (set PILOT_INTEGRATION=required to fail instead)\n`);
  return reason;
}

function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

const createdDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of createdDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pilot-${prefix}-`));
  createdDirs.add(dir);
  return dir;
}

/** Signals a child process and resolves with its exit code once it exited (at once if it already had). */
export function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<number | null> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `npm install --package-lock-only --before=<this>`: lockfiles made by tests name only versions
 * a month old. The registry this machine reaches answered a two-week-old version for the host
 * and "no matching version" for the build in a container a minute later (one CI run); settled
 * versions are in every view of it, so a lockfile made here installs in the build.
 */
export function settledRegistryDate(now = Date.now()): string {
  return new Date(now - 30 * 24 * 3600 * 1000).toISOString();
}

/** A PILOT_INSTANCE of this run's own, so two runs never touch each other's Docker objects. */
export function testInstanceName(): string {
  return `pt-${randomBytes(4).toString('hex')}`;
}

/** Local base images (scripts/build-local-images.sh); CI exports these variables. */
export function localImages(): { nodeImage: string; staticImage: string } {
  return {
    nodeImage: process.env.PILOT_NODE_IMAGE ?? `pilot-local/node:${process.versions.node.split('.')[0]}`,
    staticImage: process.env.PILOT_STATIC_IMAGE ?? 'pilot-local/static:latest',
  };
}

export function testLogger(): Logger {
  return pino({ level: process.env.PILOT_TEST_LOG_LEVEL ?? 'silent' });
}

/** Removes every container, image, volume and network labelled with this instance. */
export async function removeInstanceObjects(instance: string, docker = new Docker()): Promise<void> {
  const filters = { label: [`pilot.instance=${instance}`] };
  for (const container of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
  }
  // Release images are named <instance>/<app>:v<N>; others (test images) carry the label.
  for (const imageFilters of [filters, { reference: [`${instance}/*`] }]) {
    for (const image of await docker.listImages({ filters: imageFilters })) {
      await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
    }
  }
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker.getVolume(volume.Name).remove({ force: true }).catch(() => undefined);
  }
  for (const network of await docker.listNetworks({ filters })) {
    await docker.getNetwork(network.Id).remove().catch(() => undefined);
  }
}

export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** GET https://<host>:<port><path> through Caddy on 127.0.0.1, trusting the test's own CA. */
export function httpsGet(options: {
  host: string;
  port: number;
  path?: string;
  ca: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/',
        servername: options.host,
        headers: { Host: `${options.host}:${options.port}`, ...options.headers },
        ca: fs.readFileSync(options.ca),
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

/** Polls until `probe` returns a value, failing with the last error after the deadline. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real git client with an isolated HOME and no prompts. */
export class GitClient {
  readonly home: string;

  constructor(readonly workDir: string) {
    this.home = tempDir('git-home');
    fs.mkdirSync(workDir, { recursive: true });
  }

  private env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.home,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Pilot Test',
      GIT_AUTHOR_EMAIL: 'test@pilot.invalid',
      GIT_COMMITTER_NAME: 'Pilot Test',
      GIT_COMMITTER_EMAIL: 'test@pilot.invalid',
    };
  }

  run(args: string[], options: { timeoutMs?: number } = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      // Its own process group: a timeout kills git's helpers (git-remote-http) too, which hold the pipes.
      const child = spawn('git', args, { cwd: this.workDir, env: this.env(), detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, options.timeoutMs ?? 600_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  async ok(args: string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout.trim();
  }

  async init(branch = 'main'): Promise<void> {
    await this.ok(['init', '--quiet', `--initial-branch=${branch}`]);
  }

  /** Writes files (path -> content) and commits them; returns the commit sha. */
  async commit(files: Record<string, string>, message = 'change'): Promise<string> {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(this.workDir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    await this.ok(['add', '--all']);
    await this.ok(['commit', '--quiet', '--allow-empty', '-m', message]);
    return this.ok(['rev-parse', 'HEAD']);
  }
}

/** A remote URL with the token as the Basic password (the user name is ignored). */
export function remoteUrl(base: string, app: string, token: string): string {
  const url = new URL(`${base.replace(/\/$/, '')}/${app}.git`);
  url.username = 'pilot';
  url.password = token;
  return url.toString();
}
