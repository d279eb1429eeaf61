import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { CaddyAdmin } from './admin.js';
import { DependencyError } from '../../domain/errors.js';

export interface ManagedCaddyOptions {
  /** Caddy's home: its data (certificates, keys), config and log live here. */
  readonly caddyDir: string;
  readonly adminSocket: string;
  /** The rendered routes; Caddy starts from this file, so a restarted Caddy keeps its routes. */
  readonly caddyfile: string;
  readonly binary?: string;
  readonly logger: Logger;
}

/**
 * Runs Pilot's own Caddy. Caddy is started detached so that it (and every app behind it)
 * outlives the Pilot process; a restarted Pilot adopts a Caddy whose admin socket answers.
 */
export class ManagedCaddy {
  readonly admin: CaddyAdmin;
  private watchdog: NodeJS.Timeout | undefined;
  private restartDelayMs = 500;

  constructor(private readonly options: ManagedCaddyOptions) {
    this.admin = new CaddyAdmin({ socketPath: options.adminSocket });
  }

  get dataHome(): string {
    return path.join(this.options.caddyDir, 'data');
  }

  /** Root certificate of Caddy's local CA (PILOT_TLS=internal). */
  get localRootCertificate(): string {
    return path.join(this.dataHome, 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  }

  /** Caddy's output (its JSON log), appended to by every Caddy Pilot starts. */
  get logFile(): string {
    return path.join(this.options.caddyDir, 'caddy.log');
  }

  get pidFile(): string {
    return path.join(this.options.caddyDir, 'caddy.pid');
  }

  /** Adopts a running Caddy or starts one; resolves once its admin API answers. */
  async start(): Promise<'adopted' | 'started'> {
    if (await this.admin.reachable()) {
      this.options.logger.info({ socket: this.options.adminSocket }, 'adopted the running Caddy');
      return 'adopted';
    }
    await this.spawnCaddy();
    return 'started';
  }

  /** Checks Caddy every interval and starts it again (with back-off) when it is gone. */
  watch(intervalMs: number, onRestarted: () => Promise<void>): void {
    const check = async (): Promise<void> => {
      if (await this.admin.reachable()) {
        this.restartDelayMs = 500;
      } else {
        this.options.logger.warn('Caddy does not answer; starting it again');
        await new Promise((resolve) => setTimeout(resolve, this.restartDelayMs));
        this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
        try {
          await this.spawnCaddy();
          await onRestarted();
        } catch (error) {
          this.options.logger.error({ err: error }, 'Caddy could not be restarted');
        }
      }
      if (this.watchdog) this.watchdog = setTimeout(() => void check(), intervalMs);
    };
    this.watchdog = setTimeout(() => void check(), intervalMs);
  }

  stopWatching(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /** Stops Caddy itself (tests and uninstall; a normal Pilot shutdown leaves it serving). */
  async terminate(): Promise<void> {
    this.stopWatching();
    const pid = this.readPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }

  readPid(): number | undefined {
    try {
      const pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async spawnCaddy(): Promise<void> {
    const { caddyDir, adminSocket, caddyfile } = this.options;
    fs.mkdirSync(caddyDir, { recursive: true, mode: 0o700 });
    // A socket file left by a dead Caddy would make the new one fail to listen.
    fs.rmSync(adminSocket, { force: true });
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(
      this.options.binary ?? 'caddy',
      ['run', '--config', caddyfile, '--adapter', 'caddyfile', '--pidfile', this.pidFile],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          PATH: process.env.PATH,
          HOME: path.join(caddyDir, 'home'),
          XDG_DATA_HOME: this.dataHome,
          XDG_CONFIG_HOME: path.join(caddyDir, 'config'),
        },
      },
    );
    fs.closeSync(log);
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    child.on('error', () => (exited = -1));
    child.unref();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (exited !== undefined) break;
      if (await this.admin.reachable()) {
        this.options.logger.info({ caddyPid: child.pid, socket: adminSocket }, 'started Caddy');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new DependencyError(
      'PILOT_CADDY_START_FAILED',
      `Caddy did not start (exit code ${exited ?? 'none, no answer in 15 s'}); see ${path.join(caddyDir, 'caddy.log')}`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
