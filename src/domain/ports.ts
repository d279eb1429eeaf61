/**
 * The interfaces the pipeline and the HTTP layer talk to. Adapters in src/adapters
 * implement them with dockerode, Caddy's admin API and better-sqlite3; unit tests use fakes.
 */
import type { App, BuildpackName, ClusterNode, CronEntry, CronRun, CronRunStatus, DeployScripts, HealthCheck, PilotEvent, Release, ReleaseAuthor, RepoSource, Webhook, ReleaseKind, ReleaseStatus, Slot, Volume, NodeAvailability } from './types.js';
import type { OneOffIdentity, OneOffKind, ProcessFilter, ProcessIdentity } from './process-identity.js';
import type { Preview, PreviewSettings } from './previews.js';

export interface BuildRequest {
  readonly contextDir: string;
  /** Path of the Dockerfile relative to the context. */
  readonly dockerfile: string;
  /**
   * `<instance>/<app>:v<N>`: the repository names the instance and the app, so images are
   * found by name (no build labels: each would cost the build one more step).
   */
  readonly tag: string;
  readonly timeoutSeconds: number;
  /** Caps of the build's RUN steps (PILOT_BUILD_CPUS, PILOT_BUILD_MEMORY, PILOT_BUILD_PIDS), so running apps keep their share. */
  readonly limits: { readonly cpus: number; readonly memoryBytes: number; readonly pids: number };
  /** `--build-arg`s: only ARGs the Dockerfile declares (the classic builder warns of the others). */
  readonly buildArgs: Readonly<Record<string, string>>;
}

export interface BuildResult {
  /**
   * Images of a multi-stage build's earlier stages, in order (the first is the `build` stage of
   * the node buildpack), kept under tags of the app's repository so their layers are the next
   * build's cache and never dangle; undefined for a stage that made no image of its own.
   */
  readonly stageImages: readonly (string | undefined)[];
}

export interface ContainerPlan {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** The app's own network; `extraNetworks` are the linked apps' (joined before the start). */
  readonly network: string;
  readonly extraNetworks: readonly string[];
  /** Names other containers on `network` reach it by (a web process: the app's name). */
  readonly aliases: readonly string[];
  /** Every capability is dropped, then these are given (see start.ts BASE_CAPABILITIES). */
  readonly capAdd: readonly string[];
  /** Most processes and threads the container may run at once. */
  readonly pidsLimit: number;
  readonly memoryBytes: number;
  readonly nanoCpus: number;
  readonly logMaxSize: string;
  readonly logMaxFiles: number;
  /** Overrides the image's command (one-off commands, tests); the image's own is used otherwise. */
  readonly command?: readonly string[];
  /**
   * `no` while a candidate is health-checked, so a crash stays a crash with its exit code;
   * `unless-stopped` once it serves (see ContainerEngine.keepRunning).
   */
  readonly restartPolicy: 'no' | 'unless-stopped';
  /** Named volumes mounted at paths. */
  readonly mounts: readonly { readonly volume: string; readonly path: string }[];
  /** Stdin open and a TTY (an attached one-off command). */
  readonly interactive?: boolean;
  /** Stdin open without a TTY: input piped to a one-off command, ended by its caller. */
  readonly pipedStdin?: boolean;
}

/** What the engine knows of an image before a build reads it. */
export interface ImageOrigin {
  /** From a registry (it has a repository digest); false: built, imported or committed on this host. */
  readonly fromRegistry: boolean;
  /** Its ONBUILD triggers, which run in a build FROM it. */
  readonly onBuild: readonly string[];
}

export interface ContainerState {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  /** Docker's word for it: created, running, restarting, exited, paused, dead. */
  readonly status: string;
  readonly exitCode: number;
  /** When the process last started (ISO 8601), if it ever did. */
  readonly startedAt: string | undefined;
  /** Restarts by the restart policy since the container was created. */
  readonly restartCount: number;
  /** Address on one of its networks (the host reaches every one), if it has one. */
  readonly ip: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** What a process uses, from the scheduler's stats; counters count from the process's start. */
export interface ProcessStats {
  readonly cpuSeconds: number;
  readonly memoryBytes: number;
  /** 0 when the process has no limit of its own. */
  readonly memoryLimitBytes: number;
  readonly networkInBytes: number;
  readonly networkOutBytes: number;
}

/** The disk the engine uses, by kind, and the directory it keeps it in. */
export interface EngineDiskUsage {
  readonly rootDir: string | undefined;
  readonly imagesBytes: number;
  readonly containersBytes: number;
  readonly volumesBytes: number;
  readonly buildCacheBytes: number;
}

/** The host as the operating system reports it at one moment. */
export interface HostReading {
  readonly cpus: number;
  /** CPU time of all cores since boot, busy and in all, in seconds. */
  readonly cpuBusySeconds: number;
  readonly cpuTotalSeconds: number;
  readonly load: readonly [number, number, number];
  readonly memoryTotalBytes: number;
  readonly memoryAvailableBytes: number;
}

/** Reads the host: CPU, memory and load at once, a file system's free space by path. */
export interface HostReader {
  read(): HostReading;
  diskSpace(path: string): Promise<{ readonly freeBytes: number; readonly totalBytes: number }>;
}

export interface ContainerEngine {
  ping(): Promise<void>;
  /** One reading of a running container's stats; undefined once it is gone or stopped. */
  containerStats(idOrName: string): Promise<ProcessStats | undefined>;
  /** Docker's `system df` and its root directory. */
  diskUsage(): Promise<EngineDiskUsage>;
  /**
   * Calls `listener` whenever a container with these labels starts (the engine's restart policy
   * included); keeps following across engine restarts until `stop()`.
   */
  watchContainerStarts(labels: Readonly<Record<string, string>>, listener: () => void): { stop(): void };
  /**
   * Follows the lifecycle events (start, die, destroy...) of the containers with these labels,
   * across engine restarts, until `stop()`; `onFollowing` each time the stream (re)connected.
   */
  watchContainerEvents(labels: Readonly<Record<string, string>>, onEvent: (event: { id: string; action: string }) => void, onFollowing: () => void): { stop(): void };
  /** Builds an image; every output line goes to onOutput. Rejects with Docker's own error text. */
  buildImage(request: BuildRequest, onOutput: (line: string) => void): Promise<BuildResult>;
  /** Exposed port of an image (first EXPOSEd TCP port), if any. */
  exposedPort(image: string): Promise<number | undefined>;
  ensureNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  /** Removes a network, disconnecting the containers still on it; a missing one is no error. */
  removeNetwork(name: string): Promise<void>;
  /** Joins a container (running or not) to a network; idempotent. */
  connectNetwork(name: string, container: string): Promise<void>;
  /** Takes a container off a network; idempotent. */
  disconnectNetwork(name: string, container: string): Promise<void>;
  startContainer(plan: ContainerPlan): Promise<string>;
  /** Sets the restart policy to `unless-stopped`: the container now serves and must survive crashes and engine restarts. */
  keepRunning(idOrName: string): Promise<void>;
  inspectContainer(idOrName: string): Promise<ContainerState | undefined>;
  containerLogs(idOrName: string, tailLines: number): Promise<string>;
  /**
   * Log lines with Docker's timestamps, from `sinceSeconds` (`seconds.nanoseconds`) or the last
   * `tail` lines; with `follow` it keeps streaming until the container stops or `stop()` is called.
   */
  streamLogs(idOrName: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream>;
  restartContainer(idOrName: string, timeoutSeconds: number): Promise<void>;
  /** Creates a named volume (idempotent). */
  ensureVolume(name: string, labels: Readonly<Record<string, string>>): Promise<void>;
  /** Names of the volumes carrying these labels. */
  listVolumes(labels: Readonly<Record<string, string>>): Promise<string[]>;
  removeVolume(name: string): Promise<void>;
  /** Runs a one-off container attached to its output (and stdin when interactive); removed once it exited. */
  runAttached(plan: ContainerPlan, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess>;
  /** Starts a stopped container again. */
  resumeContainer(idOrName: string): Promise<void>;
  stopContainer(idOrName: string, timeoutSeconds: number): Promise<void>;
  removeContainer(idOrName: string): Promise<void>;
  listContainers(labels: Readonly<Record<string, string>>): Promise<ContainerState[]>;
  removeImage(name: string): Promise<void>;
  /**
   * Copies directories of an image (relative to `root`, e.g. `.next/cache` of `/app`) to the same
   * paths under `destDir`; missing ones are skipped; refused past `maxBytes` in all.
   */
  copyFromImage(image: string, root: string, dirs: readonly string[], destDir: string, maxBytes: number): Promise<void>;
  imageExists(name: string): Promise<boolean>;
  /** Where an image a build starts from came from, pulling it first (anonymously) when the host lacks it. */
  imageOrigin(name: string): Promise<ImageOrigin>;
  /** Makes sure the engine has the image: pulls it when it has not, progress lines to onOutput. */
  ensureImage(name: string, onOutput: (line: string) => void): Promise<void>;
  /** Loads a `docker save` tarball; resolves with the name of the image it held (its id when it had no tag). */
  loadImage(archive: NodeJS.ReadableStream, onOutput: (line: string) => void): Promise<string>;
  /** Tags the image as `repository:tag` (the release's image name); resolves with its id (`sha256:…`). */
  tagImage(image: string, tag: string): Promise<string>;
  /** `repository:tag` of the images whose repository matches (`<instance>/<app>`, or `<instance>/*`). */
  listImages(repository: string): Promise<string[]>;
}

/** What every process of a release shares: image, config, port, limits, volumes. */
export interface ReleaseRuntime {
  readonly instance: string;
  readonly app: string;
  readonly version: number;
  readonly image: string;
  readonly config: Readonly<Record<string, string>>;
  readonly port: number;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly volumes: readonly Pick<Volume, 'path' | 'name'>[];
  /** The networks of the apps this one is linked to (`pilot apps:link`). */
  readonly linkedNetworks: readonly string[];
  /** BASE_CAPABILITIES (pipeline/start.ts) and the app's own additions. */
  readonly capabilities: readonly string[];
  readonly pidsLimit: number;
}

/** A process of the formation to start: who it is and its Procfile command (null: the image's own). */
export interface ProcessToStart {
  readonly identity: ProcessIdentity;
  readonly command: string | null;
}

/** A process the scheduler started; `id` is the scheduler's handle for it. */
export interface StartedProcess {
  readonly id: string;
  readonly name: string;
  readonly identity: ProcessIdentity;
}

/** A process of an app as the scheduler runs it now. */
export interface AppProcess extends StartedProcess {
  readonly running: boolean;
  /** The scheduler's word for it: created, running, restarting, exited, paused, dead. */
  readonly status: string;
  readonly exitCode: number;
  /** When the process last started (ISO 8601), if it ever did. */
  readonly startedAt: string | undefined;
  /** Restarts by the scheduler since the process was created. */
  readonly restartCount: number;
  /** Where the proxy reaches it (an IP), if it has an address now. */
  readonly address: string | undefined;
  /** The machine it runs on, when the scheduler has several (a swarm node's hostname). */
  readonly node?: string;
}

/** What AppRuntime.watch delivers, in the order it happened. */
export type ProcessChange =
  | { readonly kind: 'listed'; readonly processes: readonly AppProcess[] }
  | { readonly kind: 'changed'; readonly process: AppProcess }
  | { readonly kind: 'removed'; readonly id: string };

export interface OneOffProcess {
  readonly id: string;
  readonly name: string;
  readonly identity: OneOffIdentity;
  readonly running: boolean;
}

export interface CheckSettings {
  readonly port: number;
  /** Passed in order by every web process. */
  readonly healthChecks: readonly HealthCheck[];
  /** How long a check without `attempts` keeps trying (PILOT_HEALTH_TIMEOUT). */
  readonly healthTimeoutSeconds: number;
  /** How long a process without HTTP (a worker) must stay up to pass. */
  readonly settleSeconds: number;
}

export interface HealthResult {
  readonly attempts: number;
  readonly elapsedMs: number;
}

export interface CheckedProcess extends StartedProcess {
  /** `host:port` the proxy sends a web process's requests to. */
  readonly upstream: string | undefined;
}

/** A one-off command of a release. */
export interface OneOffRun {
  readonly kind: OneOffKind;
  /** Keeps its name apart from other runs of the same kind. */
  readonly suffix: string;
  readonly command: readonly string[];
  /** The caller's terminal (stdin and a TTY), its piped stdin (ended by the caller), or none. */
  readonly input: OneOffInput;
}

export type OneOffInput = 'tty' | 'pipe' | 'none';

/**
 * Apps' processes at the level a scheduler thinks in: start a release's processes, check them,
 * where the proxy reaches them, retire them, list them, their logs, one-off runs. One Docker
 * engine implements it today (src/runtime/docker-runtime.ts); the pipeline and the services
 * speak only to this, never to containers or labels.
 */
export interface AppRuntime {
  ping(): Promise<void>;
  /** Calls `listener` whenever a process starts (restarts by the scheduler included), until `stop()`. */
  watchStarts(listener: () => void): { stop(): void };
  /**
   * Follows every process of the instance until `stop()`: `listed` with all of them at first
   * and again whenever changes may have been missed (the scheduler's stream reconnected), then
   * each process as it is after every change of it (`changed`), or `removed`.
   */
  watch(onChange: (change: ProcessChange) => void): { stop(): void };
  /** Starts each process; `started` hears of each at once, so a failure later can remove them. */
  start(runtime: ReleaseRuntime, processes: readonly ProcessToStart[], started: (process: StartedProcess) => void): Promise<StartedProcess[]>;
  /**
   * Checks every process at once: web processes by HTTP (the checks in order), the others by
   * still running after the settle time. Rejects with ProcessCheckError naming the process;
   * resolves with the slowest web check.
   */
  check(processes: readonly StartedProcess[], settings: CheckSettings): Promise<{ processes: CheckedProcess[]; health: HealthResult | undefined }>;
  /**
   * One probe of a serving web process by HTTP (each check once, in order, no retry): why it
   * failed, or undefined when it answered well.
   */
  probe(process: Pick<AppProcess, 'address'>, port: number, checks: readonly HealthCheck[]): Promise<string | undefined>;
  /** The processes serve now: the scheduler restarts them when they crash and after its own restart. */
  keepServing(processes: readonly StartedProcess[]): Promise<void>;
  /** The instance's processes (never one-offs), narrowed by `filter`, web first then by type and index. */
  list(filter?: ProcessFilter): Promise<AppProcess[]>;
  listOneOffs(app?: string): Promise<OneOffProcess[]>;
  /** The process now, with what a listing lacks (start time, restarts); undefined once it is gone. */
  inspect(id: string): Promise<AppProcess | undefined>;
  /** `host:port` the proxy sends to; undefined while the process has no address. */
  routeTarget(process: Pick<AppProcess, 'address'>, port: number): string | undefined;
  /** Stops the processes side by side (each gets the whole timeout), then removes them. */
  retire(processes: readonly { readonly id: string }[], stopTimeoutSeconds: number): Promise<void>;
  /** Removes at once (never served, or nothing routes to it any more); missing ones are fine. */
  remove(ids: readonly string[]): Promise<void>;
  restart(id: string, timeoutSeconds: number): Promise<void>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  /** Starts a stopped process again. */
  resume(id: string): Promise<void>;
  lastLogs(id: string, lines: number): Promise<string>;
  /** What the process uses now (CPU time, memory, network); undefined once it is gone or stopped. */
  stats(id: string): Promise<ProcessStats | undefined>;
  /** The disk the scheduler's images, containers, volumes and build cache take. */
  diskUsage(): Promise<EngineDiskUsage>;
  /** See ContainerEngine.streamLogs. */
  streamLogs(id: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream>;
  /** Runs a one-off command of the release, attached; its container is removed once it exited. */
  runOneOff(runtime: ReleaseRuntime, run: OneOffRun, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess>;
  /** Joins the app's processes (now and, by their plans, later ones) to another app's network. */
  link(app: string, other: string): Promise<void>;
  /** Takes the app's processes off another app's network. */
  unlink(app: string, other: string): Promise<void>;
  /** Forgets what the runtime keeps for an app beyond its processes (its network), once it is destroyed. */
  forgetApp(app: string): Promise<void>;
  /** Creates the volume if missing and, on a scheduler of several nodes, places it on a node if none holds it; idempotent. */
  ensureVolume(app: string, name: string): Promise<void>;
  /** Names of the app's volumes. */
  listVolumes(app: string): Promise<string[]>;
  removeVolume(name: string): Promise<void>;
  /** Present on a scheduler of several nodes: the hostname of the node that holds the volume, where the app's processes run. */
  volumeNode?(name: string): Promise<string | undefined>;
  /**
   * Present on a scheduler that replaces processes itself (Docker Swarm's rolling updates): the
   * rollout then hands it the whole formation instead of start → check → retire. Resolves once
   * every process type runs as asked, with how to take that back; rejects (DeployError) when the
   * scheduler rolled back, its old processes serving throughout.
   */
  replace?(request: ReplaceRequest): Promise<Replacement>;
  /** Present with `replace`: what the scheduler is asked to run for each app and process type (its processes converge to it). */
  scheduled?(): Promise<ScheduledFormation[]>;
  /**
   * Present with `replace`: this instance's processes that run as plain containers beside the
   * scheduler, in no service (what a single-host Pilot ran before it restarted in swarm mode).
   * `remove` takes their ids.
   */
  listSingleHost?(): Promise<AppProcess[]>;
  /**
   * Present with `listSingleHost`: stops such plain containers side by side (each gets the whole
   * timeout, so an app writing to a volume can finish), then removes them.
   */
  retireSingleHost?(processes: readonly { readonly id: string }[], stopTimeoutSeconds: number): Promise<void>;
}

/** A formation `replace` put in place, which a failure after it (the switch) takes back. */
export interface Replacement {
  /**
   * Puts every process type back as it ran before the replace (what it created goes, what it
   * removed comes back), one process at a time; rejects (DeployError) naming what could not go back.
   */
  undo(): Promise<void>;
}

/** One process type of an app as a rolling scheduler is asked to run it (a Swarm service's spec). */
export interface ScheduledFormation {
  readonly app: string;
  readonly type: string;
  readonly release: number;
  readonly slot: Slot;
  readonly replicas: number;
}

/** The formation a rolling scheduler runs (AppRuntime.replace). */
export interface ReplaceRequest {
  readonly runtime: ReleaseRuntime;
  /** The release's process types and their commands (null: the image's own). */
  readonly processes: Readonly<Record<string, string | null>>;
  readonly quantities: Readonly<Record<string, number>>;
  /** Recorded on the processes, as the slot of a one-host rollout. */
  readonly slot: Slot;
  /** Every process new even when nothing else changed (a restart). */
  readonly renew: boolean;
  readonly checks: CheckSettings;
  readonly drainSeconds: number;
  readonly stopTimeoutSeconds: number;
  readonly onOutput: (line: string) => void;
}

/** The image side of the engine: what builds and keeps the release images. */
export type ImageEngine = Pick<
  ContainerEngine,
  'buildImage' | 'exposedPort' | 'removeImage' | 'copyFromImage' | 'imageExists' | 'imageOrigin' | 'listImages' | 'ensureImage' | 'loadImage' | 'tagImage'
>;

export interface AttachedProcess {
  /** The process's stdin, for interactive and piped-stdin plans. */
  readonly stdin: NodeJS.WritableStream | undefined;
  /** Settles with the exit code once the process ended and its output was delivered. */
  readonly exitCode: Promise<number>;
  resize(columns: number, rows: number): Promise<void>;
  /** Ends the process now and removes its container. */
  kill(): Promise<void>;
}

export interface LogStreamOptions {
  readonly sinceSeconds?: string;
  readonly tail?: number;
  readonly follow: boolean;
}

export interface TimestampedLine {
  /** Docker's RFC 3339 timestamp with nanoseconds. */
  readonly time: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface LogStream {
  stop(): void;
  /** Settles when the stream ended (container stopped, stop() called, or the engine hung up). */
  readonly done: Promise<void>;
}

export interface RouteLoader {
  /** Replaces the whole routing config atomically; rejects with Caddy's message if refused. */
  load(caddyfile: string): Promise<void>;
  reachable(): Promise<boolean>;
  /** `host:port` of every upstream the proxy serves now: confirms a switch took effect. */
  upstreams(): Promise<string[]>;
  /** A digest of the proxy's whole running config: it changes when someone else replaced it. */
  configFingerprint(): Promise<string>;
}

export interface NewRelease {
  readonly appId: number;
  readonly kind: ReleaseKind;
  readonly gitSha: string | null;
  /** See Release.source. */
  readonly source?: string | null;
  readonly config: Readonly<Record<string, string>>;
  /** Which of `config` the image is built with (none when not given). */
  readonly buildKeys?: readonly string[];
  /** What the release does, for people (domain/release-descriptions.ts). */
  readonly description?: string;
  /** Who makes it (domain/release-authors.ts). */
  readonly madeBy?: ReleaseAuthor;
}

export interface ReleaseUpdate {
  /** Where the release comes from (Release.source), once it is known. */
  readonly source?: string;
  readonly buildpack?: BuildpackName;
  readonly image?: string;
  readonly slot?: Slot;
  readonly containerId?: string;
  readonly port?: number;
  readonly healthChecks?: readonly HealthCheck[];
  readonly processes?: Readonly<Record<string, string | null>>;
  readonly formation?: Readonly<Record<string, number>>;
  readonly releaseCommand?: string | null;
  readonly cron?: readonly CronEntry[];
  readonly scripts?: DeployScripts;
  readonly failureReason?: string;
}

export interface AppStore {
  findByName(name: string): App | undefined;
  /** Whether an app has this id now (ids of destroyed apps are given again). */
  exists(id: number): boolean;
  create(name: string): App;
  list(): App[];
  /** Every app with what listing it shows of its live release, by name: one query, whatever the number of apps. */
  listings(): AppListing[];
  /** Deletes the app and, by cascade, its releases, config vars, domains and deploy tokens. */
  delete(id: number): void;
  setLimits(id: number, limits: { memoryBytes: number | null; cpus: number | null }): void;
  setBuildDir(id: number, buildDir: string | null): void;
  setCapAdd(id: number, capabilities: readonly string[]): void;
  setMaintenance(id: number, on: boolean): void;
  /** Gives the app another name (its old one becomes a former name); everything else it has is keyed by its id and stays. */
  rename(id: number, name: string): void;
  /** The current name of the app that was called `name` before a rename, if it still exists and nothing took the name. */
  renamedTo(name: string): string | undefined;
  /** The former names of every app (each answers a 404 page at `<name>.<domain>`). */
  formerNames(): { name: string; appId: number }[];
  /** The app's containers join the linked app's network; false if they were linked already. */
  link(id: number, linkedId: number): boolean;
  /** False if they were not linked. */
  unlink(id: number, linkedId: number): boolean;
  /** Names of the apps linked to this one (whose containers join its network). */
  linkedFrom(id: number): string[];
  setWatchSeconds(id: number, seconds: number | null): void;
}

export type LiveReleaseSummary = Pick<Release, 'appId' | 'version' | 'kind' | 'gitSha' | 'containerId' | 'createdAt'>;

/** An app as listing apps shows it: its own fields and its live release's (none: undefined), without the rest (config, processes, checks). */
export interface AppListing {
  readonly app: Pick<App, 'id' | 'name' | 'createdAt' | 'buildDir' | 'maintenance' | 'watchSeconds'>;
  readonly live: LiveReleaseSummary | undefined;
}

export interface ReleaseStore {
  /** Creates the next version (v1, v2, ...) in state `building`. */
  create(release: NewRelease): Release;
  get(id: number): Release | undefined;
  byVersion(appId: number, version: number): Release | undefined;
  live(appId: number): Release | undefined;
  /** Live releases of every app, for rendering routes. */
  allLive(): Release[];
  /** The status of every app's latest release, by app name (apps without releases are absent): one read for all apps. */
  latestStatuses(): Map<string, ReleaseStatus>;
  /** Releases being built, started or checked (at start: cut short by a crash). */
  inProgress(): Release[];
  list(appId: number): Release[];
  update(id: number, update: ReleaseUpdate): void;
  /**
   * Changes the status (never to `live`: see promote) with `update`, if RELEASE_TRANSITIONS
   * allows it; otherwise throws ReleaseTransitionError and changes nothing.
   */
  transition(id: number, status: ReleaseStatus, update?: ReleaseUpdate): void;
  /**
   * Makes `id` (checking) live and the previously live release of its app retired, atomically;
   * from any other status throws ReleaseTransitionError and changes nothing.
   */
  promote(id: number): void;
  appendLog(id: number, text: string): void;
  log(id: number): string;
}

export interface ConfigStore {
  get(appId: number): Record<string, string>;
  /** Keys of the build vars (builds see them too; all vars are runtime vars), sorted. */
  buildKeys(appId: number): string[];
  /**
   * Replaces the whole set: a config change is recorded once its release went live.
   * `buildKeys` not in `vars` are ignored.
   */
  replace(appId: number, vars: Readonly<Record<string, string>>, buildKeys: readonly string[]): void;
}

/**
 * The scales `ps:scale` set, kept across releases. A type without a row runs one if it is
 * `web`, else none; app.json formation wins over a row (pipeline/start.ts processQuantities).
 */
export interface FormationStore {
  get(appId: number): Record<string, number>;
  /** Every app's quantities, by app id (apps never scaled are absent): one read for all apps. */
  all(): Map<number, Record<string, number>>;
  set(appId: number, quantities: Readonly<Record<string, number>>): void;
}

export interface VolumeStore {
  list(appId: number): Volume[];
  add(appId: number, volume: { path: string; name: string }): void;
  remove(appId: number, path: string): boolean;
  /** The app that records a Docker volume of this name (a renamed app keeps its volumes' names). */
  ownerOf(name: string): number | undefined;
}

export interface DomainStore {
  listForApp(appId: number): string[];
  /** Every app's domains, by app id. */
  all(): Map<number, string[]>;
  /** The app a hostname belongs to, if any. */
  owner(hostname: string): number | undefined;
  add(appId: number, hostname: string): void;
  /** Whether the hostname was the app's. */
  remove(appId: number, hostname: string): boolean;
}

export type TokenScope = 'admin' | 'app';

export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly prefix: string;
  readonly scope: TokenScope;
  readonly appId: number | null;
  readonly appName: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export interface TokenStore {
  /** Stores the hash of an admin token if no token with this hash exists yet. */
  ensureAdminToken(name: string, hash: string, prefix: string): void;
  create(token: { name: string; prefix: string; hash: string; scope: TokenScope; appId: number | null }): TokenRecord;
  findByHash(hash: string): { id: number; name: string; scope: TokenScope; appId: number | null; hash: string } | undefined;
  /** Tokens not revoked, oldest first. */
  list(): TokenRecord[];
  /**
   * Makes `hash` the one valid admin token called `name`: every other token of that name is
   * revoked, this one is added (or valid again). Undefined: revokes every token of that name.
   */
  replaceAdminToken(name: string, token: { hash: string; prefix: string } | undefined): void;
  /** Revokes the token with this id; returns it (undefined when no valid token has it). */
  revoke(id: number): TokenRecord | undefined;
  touch(id: number): void;
  count(): number;
}

/** A signed-in dashboard session: whose token it is, and the secret its CSRF tokens derive from. */
export interface DashboardSession {
  readonly tokenId: number;
  readonly name: string;
  readonly scope: TokenScope;
  readonly appId: number | null;
  readonly csrfSecret: string;
  readonly expiresAt: string;
}

/** The dashboard's sessions, kept by the hash of their id; one whose token was revoked is not found. */
export interface DashboardSessionStore {
  create(session: { idHash: string; tokenId: number; csrfSecret: string; expiresAt: string }): void;
  /** The session, unless it expired or its token was revoked. */
  find(idHash: string, now: string): DashboardSession | undefined;
  remove(idHash: string): void;
  /** Forgets expired sessions and those of revoked tokens. */
  removeStale(now: string): void;
}

/** Every scheduled run of an app's cron entries, the last ones of each entry kept. */
export interface CronRunStore {
  /** Records a run starting now (status `running`). */
  start(run: { appId: number; entryId: string; command: string; releaseVersion: number; scheduledAt: string }): CronRun;
  /** Records a run that did not start (`skipped`, or `failed` to start), with why in `output`. */
  record(run: { appId: number; entryId: string; command: string; releaseVersion: number; scheduledAt: string; status: CronRunStatus; output: string }): CronRun;
  finish(id: number, result: { status: CronRunStatus; exitCode: number | null; output: string }): void;
  /** Newest first; only this entry's when given. */
  list(appId: number, options: { entryId?: string; limit: number }): CronRun[];
  /** The newest run of each entry of the app, by entry id. */
  latest(appId: number): Map<string, CronRun>;
  /** Runs still `running` (Pilot stopped during them) become `interrupted`; returns how many. */
  interruptRunning(): number;
}

/** An event to record: the store gives it its id and time. */
export type NewEvent = Pick<PilotEvent, 'appId' | 'app' | 'kind' | 'message'> & { readonly release?: number; readonly process?: string };

/** The timelines, each bounded: the oldest entries of a timeline go as new ones come. */
export interface EventStore {
  /** Records the event, then keeps only the newest `keep` of its timeline (its app's, or the server's). */
  append(event: NewEvent, keep: number): PilotEvent;
  /** Oldest first: the newest `limit` after `afterId`; one app's (appId), the server's (null), or every one (undefined). */
  list(filter: { readonly appId?: number | null; readonly afterId?: number; readonly limit: number }): PilotEvent[];
}

export interface WebhookStore {
  add(webhook: Pick<Webhook, 'appId' | 'url' | 'kinds' | 'secret'>): Webhook;
  /** One app's (appId), or the server-wide ones (null). */
  list(appId: number | null): Webhook[];
  /** The server-wide ones and, for an app's event, that app's. */
  receiving(appId: number | null): Webhook[];
  /** Whether it existed (and belonged to `appId`: an app's, or the server's for null). */
  remove(id: number, appId: number | null): boolean;
}

/** Where the pipeline and the services tell what happened (services/events.ts records and spreads it). */
export interface EventLog {
  record(event: NewEvent): void;
}

/** Temporary build directories: the pushed tree under `app/`, Pilot's files beside it. */
export interface Workspaces {
  /** Creates a build directory and unpacks the pushed tar into its `app/`; refuses more than maxBytes. */
  unpack(source: NodeJS.ReadableStream, maxBytes: number): Promise<string>;
  /**
   * Every file path under `app/` (but .git and node_modules; refused past a bound), with the
   * contents of the small text files `readable` picks.
   */
  facts(buildDir: string, readable: (file: string) => boolean): Promise<{ files: Set<string>; contents: Map<string, string> }>;
  writeFile(buildDir: string, name: string, content: string): Promise<void>;
  /** Copies a directory of Pilot's (a buildpack's files) into the build directory. */
  copyIn(buildDir: string, from: string, name: string): Promise<void>;
  /** Puts the app's kept build cache into the build directory as `name/` (empty when there is none yet). */
  restoreBuildCache(buildDir: string, app: string, name: string): Promise<void>;
  /** Keeps `name/` of the build directory as the app's build cache, in place of the one before. */
  keepBuildCache(buildDir: string, app: string, name: string): Promise<void>;
  removeBuildCache(app: string): Promise<void>;
  remove(buildDir: string): Promise<void>;
}

/** A submodule of a pushed tree: where it goes, the commit the tree pins and where to fetch it. */
export interface Submodule {
  /** Its name in .gitmodules. */
  readonly name: string;
  /** Relative to the repository root, without `.` or `..` parts. */
  readonly path: string;
  readonly sha: string;
  /** An https:// URL (the plan refuses any other). */
  readonly url: string;
}

/** Fetches submodules into a build directory's tree (git over https only, bounded in size and time). */
export interface SubmoduleFetcher {
  /**
   * Fills the empty directory of `submodule.path` under the build directory's `app/` with the
   * tree of its pinned commit; refuses once the whole tree would pass maxTreeBytes (the push
   * limit). Rejects with git's own reason when the fetch fails. Resolves with the paths of the
   * submodule's own gitlinks, which are not fetched.
   */
  fetch(buildDir: string, submodule: Submodule, maxTreeBytes: number): Promise<{ nested: string[] }>;
}

/** Preview apps: each app's preview settings and config overrides, and which app previews which of its branches. */
export interface PreviewStore {
  settings(parentId: number): PreviewSettings;
  saveSettings(parentId: number, settings: PreviewSettings): void;
  overrides(parentId: number): Record<string, string>;
  /** Sets (a string) or removes (null) overrides. */
  changeOverrides(parentId: number, changes: Readonly<Record<string, string | null>>): void;
  /** Oldest first. */
  list(parentId: number): Preview[];
  /** The app previewing this app, if it is a preview. */
  parentOf(appId: number): number | undefined;
  add(preview: Pick<Preview, 'appId' | 'parentId' | 'branch'>): void;
}

/** The machines of the cluster Pilot schedules on (Docker Swarm), through a manager's engine. */
export interface ClusterNodes {
  /** Refuses (ConfigError, saying what to do) unless the engine is a manager of an active swarm. */
  ensureManager(): Promise<void>;
  list(): Promise<ClusterNode[]>;
  /** The `docker swarm join --token ... ADDRESS:PORT` line that joins a machine in that role. */
  joinCommand(role: ClusterNode['role']): Promise<string>;
  setAvailability(nodeId: string, availability: NodeAvailability): Promise<void>;
  /**
   * Calls `wake` whenever a node may have changed (the engine's node events, and after the event
   * stream reconnected, when some may have been missed), until `stop()`.
   */
  watch(wake: () => void): { stop(): void };
}

/** Apps' repository URLs (types.ts RepoSource). */
export interface RepoSourceStore {
  get(appId: number): RepoSource | undefined;
  /** Sets the URL, branch and credential (null: none), keeping the webhook secret; a new source gets `webhookSecret`. */
  put(appId: number, source: Pick<RepoSource, 'url' | 'branch' | 'credential'>, webhookSecret: string): RepoSource;
  remove(appId: number): boolean;
  setWebhookSecret(appId: number, secret: string): void;
  /** What the last fetch found: its commit, or its error (the commit found before stays). */
  recordFetch(appId: number, result: { sha: string } | { error: string }): void;
}

/** A branch's head fetched from a repository URL, ready to deploy as a push's `git archive`. */
export interface FetchedTree {
  readonly sha: string;
  /** `git archive` of the commit, as the pre-receive hook streams it. */
  readonly tar: NodeJS.ReadableStream;
  /** The gitlinks and .gitmodules of the commit, as the hook's header (pipeline/submodules.ts), when it has gitlinks. */
  readonly submoduleManifest?: string;
  /** Removes the fetched repository (after the deploy read the tar). */
  remove(): Promise<void>;
}

/** Fetches a branch of a repository URL with the real git (adapters/repo-fetch.ts). */
export interface RepositoryFetcher {
  /** Refuses (DeployError, with what to do) an unknown host, a missing repository or branch, a refused credential, a timeout, a fetch past maxBytes. */
  fetchBranch(request: { readonly url: string; readonly branch: string; readonly credential: string | null; readonly maxBytes: number }): Promise<FetchedTree>;
}

/** Credentials a node's engine pulls with (dockerode's `authconfig`, sent as X-Registry-Auth). */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
  readonly serveraddress: string;
}

/**
 * Makes images built on the manager pullable by every node of a swarm (issue 13): a registry that
 * Pilot runs. The swarm runtime creates and updates services with `publish`'s reference and `pullAuth`.
 */
export interface ImageRegistry {
  /** Pushes a local image; answers the reference every node pulls (`<registry>/<instance>/<app>:<tag>`). */
  publish(image: string, onOutput: (line: string) => void): Promise<string>;
  /** What services are created and updated with, so that nodes may pull. */
  pullAuth(): RegistryAuth | undefined;
  /**
   * Deletes every tag of the app's repository but `keepTags`, and the layers only they used.
   * `keepTags` is read inside the collection's exclusive section, when no push runs.
   */
  collect(app: string, keepTags: () => readonly string[]): Promise<void>;
}
