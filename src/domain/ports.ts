/**
 * The interfaces the pipeline and the HTTP layer talk to. Adapters in src/adapters
 * implement them with dockerode, Caddy's admin API and better-sqlite3; unit tests use fakes.
 */
import type { App, BuildpackName, CronEntry, CronRun, CronRunStatus, DeployScripts, HealthCheck, PilotEvent, Release, Webhook, ReleaseKind, ReleaseStatus, Slot, Volume } from './types.js';
import type { OneOffIdentity, OneOffKind, ProcessFilter, ProcessIdentity } from './process-identity.js';

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
  /** Caps of the build's RUN steps (PILOT_BUILD_CPUS, PILOT_BUILD_MEMORY), so running apps keep their share. */
  readonly limits: { readonly cpus: number; readonly memoryBytes: number };
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
  readonly network: string;
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
  /** Address on the instance's network, if the container has one. */
  readonly ip: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerEngine {
  ping(): Promise<void>;
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
  /** Stdin open and a TTY (an attached `pilot run`). */
  readonly interactive: boolean;
}

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
  /** See ContainerEngine.streamLogs. */
  streamLogs(id: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream>;
  /** Runs a one-off command of the release, attached; its container is removed once it exited. */
  runOneOff(runtime: ReleaseRuntime, run: OneOffRun, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess>;
  ensureVolume(app: string, name: string): Promise<void>;
  /** Names of the app's volumes. */
  listVolumes(app: string): Promise<string[]>;
  removeVolume(name: string): Promise<void>;
}

/** The image side of the engine: what builds and keeps the release images. */
export type ImageEngine = Pick<ContainerEngine, 'buildImage' | 'exposedPort' | 'removeImage' | 'copyFromImage' | 'imageExists' | 'listImages'>;

export interface AttachedProcess {
  /** The process's stdin, for interactive plans. */
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
  readonly config: Readonly<Record<string, string>>;
  /** Which of `config` the image is built with (none when not given). */
  readonly buildKeys?: readonly string[];
}

export interface ReleaseUpdate {
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
  create(name: string): App;
  list(): App[];
  /** Deletes the app and, by cascade, its releases, config vars, domains and deploy tokens. */
  delete(id: number): void;
  setLimits(id: number, limits: { memoryBytes: number | null; cpus: number | null }): void;
  setBuildDir(id: number, buildDir: string | null): void;
  setWatchSeconds(id: number, seconds: number | null): void;
}

export type LiveReleaseSummary = Pick<Release, 'appId' | 'version' | 'kind' | 'gitSha' | 'containerId' | 'createdAt'>;

export interface ReleaseStore {
  /** Creates the next version (v1, v2, ...) in state `building`. */
  create(release: NewRelease): Release;
  get(id: number): Release | undefined;
  byVersion(appId: number, version: number): Release | undefined;
  live(appId: number): Release | undefined;
  /** Live releases of every app, for rendering routes. */
  allLive(): Release[];
  /** What listing apps shows of each live release, without the rest (config, processes, checks). */
  liveSummaries(): LiveReleaseSummary[];
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
  set(appId: number, quantities: Readonly<Record<string, number>>): void;
}

export interface VolumeStore {
  list(appId: number): Volume[];
  add(appId: number, volume: { path: string; name: string }): void;
  remove(appId: number, path: string): boolean;
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
  findByHash(hash: string): { id: number; scope: TokenScope; appId: number | null; hash: string } | undefined;
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
