import path from 'node:path';
import os from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from './domain/errors.js';

export type TlsMode = 'acme' | 'internal' | 'off';
/** PILOT_REGISTRY_*: the image of the registry container, the address nodes reach it at (default: the manager's swarm address), its port. */
export interface RegistrySettings {
  readonly image: string;
  readonly host: string | undefined;
  readonly port: number;
}

/** Where apps run: `docker`, the one engine of this host; `swarm`, a Docker Swarm whose manager the engine is. */
export type Scheduler = 'docker' | 'swarm';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly dataDir: string;
  readonly port: number;
  readonly bind: string;
  readonly domain: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tls: TlsMode;
  readonly acmeEmail: string | undefined;
  /** Unset: Pilot runs and supervises its own Caddy. Set: admin address of an external Caddy. */
  readonly caddyAdmin: string | undefined;
  readonly adminToken: string | undefined;
  /** PILOT_REQUEST_TIMEOUT: most seconds a client may take to send one whole request (headers and body). */
  readonly requestTimeoutSeconds: number;
  /** PILOT_HEADERS_TIMEOUT: most seconds a client may take to send a request's headers. */
  readonly headersTimeoutSeconds: number;
  /** PILOT_MAX_CONNECTIONS: open connections to the API and git at most; more are dropped. */
  readonly maxConnections: number;
  /** May hold a `{{major}}` placeholder for the Node major version. */
  readonly nodeImage: string;
  readonly staticImage: string;
  /** Prefix of every Docker object Pilot creates, and the value of the `pilot.instance` label. */
  readonly instance: string;
  readonly logLevel: LogLevel;
  /** PILOT_SCHEDULER: `swarm` needs the engine to be a swarm manager (checked at start). */
  readonly scheduler: Scheduler;
  /** Swarm mode: the registry Pilot runs on the manager so that every node pulls the release images (docs/swarm.md). */
  readonly registry: RegistrySettings;
  /** PILOT_CADDY_IMAGE: in swarm mode Caddy runs from this image as a container on the manager (docs/swarm.md); it needs /bin/sh. */
  readonly caddyImage: string;
  /**
   * PILOT_SWARM_CADDY_ADMIN: `host:port` on the manager where that container publishes Caddy's admin
   * API, and where Pilot reaches it; loopback unless Pilot runs on another machine than the manager's engine.
   */
  readonly swarmCaddyAdmin: string;
  /**
   * PILOT_SWARM_CONTROL_PLANE_BIND: an address of this machine where the Caddy container reaches
   * the control plane (pilot.<domain>); unset: the manager engine's bridge gateway, which is this
   * machine's when Pilot runs on the manager.
   */
  readonly swarmControlPlaneBind: string | undefined;
  /**
   * PILOT_SWARM_AGENT_PORT: the port the stats agent publishes on every node (host mode), where
   * Pilot reads the CPU and memory of tasks on other nodes than the manager (docs/swarm.md).
   */
  readonly swarmAgentPort: number;
  readonly dockerHost: string | undefined;
  /** DOCKER_TLS_VERIFY=1: a tcp:// engine is spoken to over TLS (as the docker CLI does). */
  readonly dockerTlsVerify: boolean;
  /** DOCKER_CERT_PATH: ca.pem, cert.pem and key.pem for a TLS engine (default ~/.docker). */
  readonly dockerCertPath: string | undefined;
  /** SSH_AUTH_SOCK: the ssh agent an ssh:// engine is reached with. */
  readonly sshAuthSock: string | undefined;
  readonly healthTimeoutSeconds: number;
  readonly drainSeconds: number;
  /** How often Pilot reads every container's stats and the host's (PILOT_METRICS_INTERVAL); 0 turns it off. */
  readonly metricsIntervalSeconds: number;
  readonly stopTimeoutSeconds: number;
  /** How long a stopping Pilot lets running deploys finish before it fails them. */
  readonly shutdownSeconds: number;
  readonly buildTimeoutSeconds: number;
  readonly buildConcurrency: number;
  /** CPU cap of each build: a build never takes the cores running apps serve from. */
  readonly buildCpus: number;
  readonly buildMemoryBytes: number;
  /** Most processes and threads a build's steps may run at once (a fork bomb stops there). */
  readonly buildPids: number;
  /**
   * PILOT_BUILD_ALLOWED_IMAGES: images on this host, beyond the base images, that an app's
   * Dockerfile may build from (names, or prefixes ending in `*`).
   */
  readonly buildAllowedImages: readonly string[];
  readonly keepReleases: number;
  readonly maxPushBytes: number;
  readonly appMemoryBytes: number;
  readonly appCpus: number;
  /** PILOT_APP_PIDS: most processes and threads each app container may run at once (a fork bomb stops there). */
  readonly appPids: number;
  /**
   * PILOT_CRON_ALLOW_SECONDS, for tests only: app.json cron schedules may carry a sixth, leading
   * seconds field, so a test sees a run within seconds. Users write Dokku's five fields.
   */
  readonly cronAllowSeconds: boolean;
  /**
   * PILOT_SUBMODULE_CA_FILE, for tests only: a CA bundle git trusts when fetching submodules
   * (a local HTTPS git server with a self-signed certificate). Users' submodules use the system's.
   */
  readonly submoduleCaFile: string | undefined;
  /**
   * PILOT_REPO_CA_FILE: a CA bundle git trusts, besides the system's, when fetching apps'
   * repository URLs (a git server with a certificate of its own CA; the tests' local one).
   */
  readonly repoCaFile: string | undefined;
  /** PILOT_HEALTH_INTERVAL: seconds between two health checks of each serving web process; 0 turns monitoring off. */
  readonly healthIntervalSeconds: number;
  /** PILOT_UNHEALTHY_AFTER: failed checks in a row that make a process unhealthy (it leaves the route and is restarted). */
  readonly unhealthyAfter: number;
  /** PILOT_CRASH_LOOP_RESTARTS within PILOT_CRASH_LOOP_MINUTES: a process crash-loops. */
  readonly crashLoopRestarts: number;
  readonly crashLoopMinutes: number;
  /**
   * PILOT_WATCH_SECONDS: how long after a release went live a crash loop or an unhealthy web
   * process rolls it back by itself; 0 turns automatic rollback off.
   */
  readonly watchSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export interface HostResources {
  readonly cpus: number;
  readonly memoryBytes: number;
}

const TLS_MODES: readonly TlsMode[] = ['acme', 'internal', 'off'];
const SCHEDULERS: readonly Scheduler[] = ['docker', 'swarm'];
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const INSTANCE = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$/;
const MEMORY = /^(\d+)([kmg]?)$/i;
const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/**
 * The smallest caps Docker accepts (a 1 ms quota per 100 ms period; 6 MiB): below them every
 * build or container start fails with an unclear engine error, so Pilot refuses them at boot.
 */
const DOCKER_MIN_CPUS = 0.01;
const DOCKER_MIN_MEMORY_BYTES = 6 * 1024 ** 2;
/** A shorter PILOT_ADMIN_TOKEN could be guessed; the generated ones have 256 bits. */
export const ADMIN_TOKEN_MIN_LENGTH = 24;

/**
 * Reads the environment once, validates every value and returns a frozen Config.
 * All problems are collected so the operator fixes them in one go. `host` gives the defaults
 * that depend on the machine (build caps: half its CPUs and memory).
 */
export function loadConfig(env: Env, host: HostResources = { cpus: os.availableParallelism(), memoryBytes: os.totalmem() }): Config {
  const problems: string[] = [];
  const read = new EnvReader(env, problems);

  const domain = read.hostname('PILOT_DOMAIN', 'localhost');
  const config: Config = {
    dataDir: path.resolve(read.string('PILOT_DATA_DIR', '/var/lib/pilot')),
    port: read.port('PILOT_PORT', 3000),
    bind: read.string('PILOT_BIND', '127.0.0.1'),
    domain,
    httpPort: read.port('PILOT_HTTP_PORT', 80),
    httpsPort: read.port('PILOT_HTTPS_PORT', 443),
    tls: read.oneOf('PILOT_TLS', TLS_MODES, defaultTlsMode(domain)),
    acmeEmail: read.optional('PILOT_ACME_EMAIL'),
    caddyAdmin: read.optional('PILOT_CADDY_ADMIN'),
    adminToken: read.secret('PILOT_ADMIN_TOKEN', ADMIN_TOKEN_MIN_LENGTH),
    // A 500 MiB push over a slow link needs minutes; a client trickling bytes is cut after this.
    requestTimeoutSeconds: read.positiveNumber('PILOT_REQUEST_TIMEOUT', 600),
    headersTimeoutSeconds: read.positiveNumber('PILOT_HEADERS_TIMEOUT', 20),
    maxConnections: read.positiveInteger('PILOT_MAX_CONNECTIONS', 512),
    nodeImage: read.string('PILOT_NODE_IMAGE', 'node:{{major}}-bookworm-slim'),
    staticImage: read.string('PILOT_STATIC_IMAGE', 'caddy:2-alpine'),
    instance: read.matching('PILOT_INSTANCE', INSTANCE, 'pilot', 'lowercase letters, digits and dashes, starting with a letter, at most 32 characters'),
    logLevel: read.oneOf('PILOT_LOG_LEVEL', LOG_LEVELS, 'info'),
    scheduler: read.oneOf('PILOT_SCHEDULER', SCHEDULERS, 'docker'),
    registry: {
      image: read.string('PILOT_REGISTRY_IMAGE', 'registry:2'),
      host: read.optional('PILOT_REGISTRY_HOST'),
      port: read.port('PILOT_REGISTRY_PORT', 5000),
    },
    caddyImage: read.string('PILOT_CADDY_IMAGE', 'caddy:2-alpine'),
    swarmCaddyAdmin: read.string('PILOT_SWARM_CADDY_ADMIN', '127.0.0.1:2019'),
    swarmControlPlaneBind: read.optional('PILOT_SWARM_CONTROL_PLANE_BIND'),
    swarmAgentPort: read.port('PILOT_SWARM_AGENT_PORT', 7079),
    dockerHost: read.optional('DOCKER_HOST'),
    dockerTlsVerify: (env.DOCKER_TLS_VERIFY ?? '') !== '' && env.DOCKER_TLS_VERIFY !== '0',
    dockerCertPath: read.optional('DOCKER_CERT_PATH'),
    sshAuthSock: read.optional('SSH_AUTH_SOCK'),
    healthTimeoutSeconds: read.positiveNumber('PILOT_HEALTH_TIMEOUT', 60),
    drainSeconds: read.nonNegativeNumber('PILOT_DRAIN_SECONDS', 10),
    metricsIntervalSeconds: read.nonNegativeNumber('PILOT_METRICS_INTERVAL', 10),
    stopTimeoutSeconds: read.nonNegativeNumber('PILOT_STOP_TIMEOUT', 30),
    shutdownSeconds: read.nonNegativeNumber('PILOT_SHUTDOWN_SECONDS', 60),
    buildTimeoutSeconds: read.positiveNumber('PILOT_BUILD_TIMEOUT', 900),
    buildConcurrency: read.positiveInteger('PILOT_BUILD_CONCURRENCY', 1),
    buildCpus: read.cpus('PILOT_BUILD_CPUS', Math.max(1, host.cpus / 2)),
    buildMemoryBytes: read.memory('PILOT_BUILD_MEMORY', `${Math.max(1024, Math.floor(host.memoryBytes / 2 / 1024 ** 2))}m`),
    buildAllowedImages: read.list('PILOT_BUILD_ALLOWED_IMAGES'),
    keepReleases: read.positiveInteger('PILOT_KEEP_RELEASES', 5),
    maxPushBytes: read.positiveNumber('PILOT_MAX_PUSH_MB', 500) * 1024 * 1024,
    appMemoryBytes: read.memory('PILOT_APP_MEMORY', '512m'),
    appCpus: read.cpus('PILOT_APP_CPUS', 1),
    appPids: read.positiveInteger('PILOT_APP_PIDS', 512),
    buildPids: read.positiveInteger('PILOT_BUILD_PIDS', 4096),
    cronAllowSeconds: read.flag('PILOT_CRON_ALLOW_SECONDS', false),
    submoduleCaFile: read.optional('PILOT_SUBMODULE_CA_FILE'),
    repoCaFile: read.optional('PILOT_REPO_CA_FILE'),
    healthIntervalSeconds: read.nonNegativeNumber('PILOT_HEALTH_INTERVAL', 10),
    unhealthyAfter: read.positiveInteger('PILOT_UNHEALTHY_AFTER', 3),
    crashLoopRestarts: read.positiveInteger('PILOT_CRASH_LOOP_RESTARTS', 5),
    crashLoopMinutes: read.positiveNumber('PILOT_CRASH_LOOP_MINUTES', 5),
    watchSeconds: read.nonNegativeNumber('PILOT_WATCH_SECONDS', 60),
  };
  if (config.tls === 'acme' && isLocalDomain(domain)) {
    problems.push(`PILOT_TLS=acme cannot get certificates for "${domain}": use internal or off`);
  }
  if (config.headersTimeoutSeconds > config.requestTimeoutSeconds) {
    problems.push(`PILOT_HEADERS_TIMEOUT (${config.headersTimeoutSeconds}) must not be longer than PILOT_REQUEST_TIMEOUT (${config.requestTimeoutSeconds})`);
  }
  const takenOnNodes = { PILOT_HTTP_PORT: config.httpPort, PILOT_HTTPS_PORT: config.httpsPort, PILOT_REGISTRY_PORT: config.registry.port };
  for (const [name, port] of Object.entries(takenOnNodes)) {
    if (config.scheduler === 'swarm' && port === config.swarmAgentPort) problems.push(`PILOT_SWARM_AGENT_PORT (${port}) is ${name} too: the stats agent needs a port of its own on every node`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

export function isLocalDomain(domain: string): boolean {
  return domain === 'localhost' || domain.endsWith('.localhost') || isIP(domain) !== 0;
}

function defaultTlsMode(domain: string): TlsMode {
  return isLocalDomain(domain) ? 'internal' : 'acme';
}

/** Typed readers that record a problem naming the variable and what it allows. */
class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** A secret of at least minLength characters; the problem never shows the value. */
  secret(name: string, minLength: number): string | undefined {
    const value = this.optional(name);
    if (value !== undefined && value.length < minLength) {
      this.problems.push(`${name} is too short (${value.length} characters): use at least ${minLength}, e.g. the output of \`openssl rand -hex 32\`, or unset it and Pilot generates one`);
    }
    return value;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  matching(name: string, pattern: RegExp, fallback: string, allowed: string): string {
    const value = this.string(name, fallback);
    if (!pattern.test(value)) this.problems.push(`${name}="${value}" is not valid: ${allowed}`);
    return value;
  }

  hostname(name: string, fallback: string): string {
    const value = this.string(name, fallback).toLowerCase();
    if (!HOSTNAME.test(value) && isIP(value) === 0) {
      this.problems.push(`${name}="${value}" is not a host name or IP address (e.g. example.com)`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.optional(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}="${value}" is not allowed: use one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** Comma-separated words, frozen. */
  list(name: string): readonly string[] {
    return Object.freeze((this.optional(name) ?? '').split(',').map((word) => word.trim()).filter((word) => word !== ''));
  }

  flag(name: string, fallback: boolean): boolean {
    const value = this.optional(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(value)) return true;
    if (['0', 'false', 'no'].includes(value)) return false;
    this.problems.push(`${name}="${value}" is not allowed: use true or false`);
    return fallback;
  }

  port(name: string, fallback: number): number {
    return this.number(name, fallback, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number from 0 to 65535');
  }

  positiveInteger(name: string, fallback: number): number {
    return this.number(name, fallback, (n) => Number.isInteger(n) && n > 0, 'a whole number greater than 0');
  }

  positiveNumber(name: string, fallback: number): number {
    return this.number(name, fallback, (n) => n > 0, 'a number greater than 0');
  }

  /** A number of CPUs, for a Docker CPU quota. */
  cpus(name: string, fallback: number): number {
    return this.number(name, fallback, (n) => n >= DOCKER_MIN_CPUS, `a number of CPUs of at least ${DOCKER_MIN_CPUS}, the smallest quota Docker accepts (e.g. 0.5)`);
  }

  nonNegativeNumber(name: string, fallback: number): number {
    return this.number(name, fallback, (n) => n >= 0, 'a number, 0 or more');
  }

  memory(name: string, fallback: string): number {
    const value = this.string(name, fallback);
    const bytes = parseMemory(value);
    if (bytes !== undefined && bytes >= DOCKER_MIN_MEMORY_BYTES) return bytes;
    this.problems.push(`${name}="${value}" is not a memory size of at least ${DOCKER_MIN_MEMORY_BYTES / 1024 ** 2}m, the smallest limit Docker accepts (e.g. 512m, 1g)`);
    return parseMemory(fallback) ?? 0;
  }

  private number(name: string, fallback: number, valid: (n: number) => boolean, allowed: string): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (Number.isFinite(value) && valid(value)) return value;
    this.problems.push(`${name}="${raw}" is not allowed: use ${allowed}`);
    return fallback;
  }
}

/** "512m" -> bytes, as Docker reads memory sizes. */
export function parseMemory(text: string): number | undefined {
  const match = MEMORY.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (MEMORY_UNITS[(match[2] ?? '').toLowerCase()] ?? 1);
}

/** Where Pilot keeps its files under the data directory. */
export interface DataPaths {
  readonly database: string;
  readonly repositories: string;
  readonly builds: string;
  /** Per app: the framework cache directories (.next/cache...) the last build left. */
  readonly buildCaches: string;
  readonly adminTokenFile: string;
  readonly deploySocket: string;
  readonly caddyDir: string;
  readonly caddyAdminSocket: string;
  readonly caddyfile: string;
  /** The managed Caddy's storage: its local CA, certificates and their keys. */
  readonly caddyData: string;
  /** Root certificate of Caddy's local CA (PILOT_TLS=internal), in its storage under caddyData. */
  readonly caddyLocalRootCertificate: string;
  /** Caddy's access log of each app (the router lines of `pilot logs`). */
  readonly accessLogs: string;
  /** Swarm mode: the registry's CA, certificate, key and password (docs/swarm.md). */
  readonly registryDir: string;
  /** Swarm mode: the stats agent's bearer secret. */
  readonly swarmAgentSecret: string;
}

export function dataPaths(dataDir: string): DataPaths {
  const caddyDir = path.join(dataDir, 'caddy');
  return {
    database: path.join(dataDir, 'pilot.db'),
    repositories: path.join(dataDir, 'repos'),
    builds: path.join(dataDir, 'builds'),
    buildCaches: path.join(dataDir, 'build-caches'),
    adminTokenFile: path.join(dataDir, 'admin-token'),
    deploySocket: path.join(dataDir, 'deploy.sock'),
    caddyDir,
    caddyAdminSocket: path.join(caddyDir, 'admin.sock'),
    caddyfile: path.join(caddyDir, 'Caddyfile'),
    caddyData: path.join(caddyDir, 'data'),
    caddyLocalRootCertificate: path.join(caddyDir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt'),
    accessLogs: path.join(caddyDir, 'access'),
    registryDir: path.join(dataDir, 'registry'),
    swarmAgentSecret: path.join(dataDir, 'swarm-agent-secret'),
  };
}
