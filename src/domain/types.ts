/** The states a release goes through (allowed changes: release-states.ts); changed only by the release store. */
export const RELEASE_STATUSES = ['building', 'starting', 'checking', 'live', 'failed', 'retired'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export type ReleaseKind = 'deploy' | 'config' | 'rollback';

/**
 * Who made a release, as what creates it says: a token (its id, never its secret; the label
 * names its kind and name), a repository's push webhook, Pilot itself (an automatic rollback),
 * or a push Pilot could not tie to the token that authenticated it.
 */
export type ReleaseAuthor =
  | { readonly kind: 'token'; readonly tokenId: number; readonly label: string }
  | { readonly kind: 'webhook' | 'pilot' | 'unknown'; readonly label: string };

/** Who made a release, as it reads back: a token revoked or deleted since says so in its label. */
export interface ReleaseMaker {
  readonly kind: ReleaseAuthor['kind'];
  /** Null when the token was deleted since, and for what is not a token. */
  readonly tokenId: number | null;
  readonly label: string;
}
export type Slot = 'blue' | 'green';
export type BuildpackName = 'dockerfile' | 'node' | 'static';

export interface App {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  /** Memory limit of each container; null: PILOT_APP_MEMORY. */
  readonly memoryBytes: number | null;
  /** CPU limit of each container; null: PILOT_APP_CPUS. */
  readonly cpus: number | null;
  /** The app's directory in its repository (a monorepo's `apps/web`); null: the root. */
  readonly buildDir: string | null;
  /** Capabilities its containers get back beyond Pilot's base set (`NET_RAW`...), by the operator's choice. */
  readonly capAdd: readonly string[];
  /** The apps whose network its containers join (`pilot apps:link`), by name. */
  readonly links: readonly string[];
  /** Visitors get a 503 maintenance page (with Retry-After) while the app keeps running. */
  readonly maintenance: boolean;
  /** Seconds a release is watched for an automatic rollback after it went live; null: PILOT_WATCH_SECONDS. */
  readonly watchSeconds: number | null;
}

export interface Release {
  readonly id: number;
  readonly appId: number;
  readonly version: number;
  readonly kind: ReleaseKind;
  readonly gitSha: string | null;
  /**
   * What the release was built from: `git <sha>` (a push), `archive sha256:<digest>` (an
   * upload), `image <name>@<id>` (a prebuilt image), `repo <url> <sha>` (a repository URL's
   * branch fetched by Pilot); a config change or rollback keeps its image's.
   */
  readonly source: string | null;
  /** Null for a prebuilt image: nothing was built. */
  readonly buildpack: BuildpackName | null;
  readonly image: string | null;
  readonly config: Readonly<Record<string, string>>;
  /**
   * The build vars the build was given, sorted: all the app's build vars when the image was
   * built (a Dockerfile app's build may use fewer: only those it declares as ARG are passed).
   * A config or rollback release reuses an image, so it records those of the release that built it.
   */
  readonly buildKeys: readonly string[];
  readonly status: ReleaseStatus;
  readonly slot: Slot | null;
  readonly containerId: string | null;
  /** Port the app listens on inside its container. */
  readonly port: number | null;
  /** The HTTP checks every web process passes before it serves (app.json `healthchecks.web`). */
  readonly healthChecks: readonly HealthCheck[];
  /**
   * Process types and their commands (Procfile); null runs the image's own command.
   * No `web` entry: a worker-only app, without a route.
   */
  readonly processes: Readonly<Record<string, string | null>>;
  /** Quantities app.json `formation` sets; they win over `ps:scale` (see `processQuantities`). */
  readonly formation: Readonly<Record<string, number>>;
  /** The Procfile's `release:` command, run once before the release's processes start. */
  readonly releaseCommand: string | null;
  /** app.json `cron` entries: run on their schedule while this release is live. */
  readonly cron: readonly CronEntry[];
  readonly scripts: DeployScripts;
  readonly failureReason: string | null;
  /** What the release did, for people: "Deploy abc1234", "Set GREETING", "Rollback to v2" (null before migration 9). */
  readonly description: string | null;
  /** Who made it (null before migration 21). */
  readonly madeBy: ReleaseMaker | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * One startup check of a web process, with Dokku's app.json fields (times in seconds).
 * Unset fields keep Pilot's defaults: quick then slower polling until PILOT_HEALTH_TIMEOUT.
 */
export interface HealthCheck {
  readonly path: string;
  /** Port inside the container; the release's port when unset. */
  readonly port?: number;
  /** The check fails after this many unhealthy answers. */
  readonly attempts?: number;
  /** Pause between attempts. */
  readonly wait?: number;
  /** Longest wait for one answer. */
  readonly timeout?: number;
  /** Pause before the first attempt. */
  readonly initialDelay?: number;
  /** Text the body of a healthy answer contains. */
  readonly content?: string;
}

/** The check of an app that declares none: `GET /` answers 2xx or 3xx. */
export const DEFAULT_HEALTH_CHECKS: readonly HealthCheck[] = [{ path: '/' }];

/** app.json deploy scripts, each run in a one-off container of the release. */
export interface DeployScripts {
  /** `scripts.dokku.predeploy`: before the switch; failing it rejects the release. */
  readonly predeploy: string | null;
  /** `scripts.dokku.postdeploy`: after the switch; failing it leaves the release live. */
  readonly postdeploy: string | null;
  /** `scripts.postdeploy` (Heroku's): once, after the app's first release went live. */
  readonly firstDeploy: string | null;
}

export const NO_DEPLOY_SCRIPTS: DeployScripts = { predeploy: null, postdeploy: null, firstDeploy: null };

/** Most containers of one process type (the formation table's CHECK says the same). */
export const MAX_PROCESS_QUANTITY = 20;

export function otherSlot(slot: Slot | null): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

/** A named Docker volume of an app, mounted at `path` in every one of its containers. */
export interface Volume {
  readonly path: string;
  readonly name: string;
  readonly createdAt: string;
}

/** An app.json `cron` entry (Dokku's format), validated at deploy time. */
export interface CronEntry {
  /** Stable across deploys while schedule and command stay the same: runs are kept under it. */
  readonly id: string;
  /** Five cron fields or a macro (`@daily`), in UTC. */
  readonly schedule: string;
  readonly command: string;
  /** Dokku's `maintenance`: listed, never run. */
  readonly maintenance: boolean;
}

/** A cron run keeps the last 64 KiB of its output: enough to read why it failed, bounded for a job that prints without end. */
export const CRON_OUTPUT_KEPT_CHARS = 64 * 1024;

/** How one scheduled run ended: `skipped` when the previous run was still going at its time. */
export const CRON_RUN_STATUSES = ['running', 'succeeded', 'failed', 'skipped', 'interrupted'] as const;
export type CronRunStatus = (typeof CRON_RUN_STATUSES)[number];

export interface CronRun {
  readonly id: number;
  readonly appId: number;
  readonly entryId: string;
  readonly command: string;
  /** The live release whose image ran it. */
  readonly releaseVersion: number;
  /** The time the schedule named (ISO 8601). */
  readonly scheduledAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly status: CronRunStatus;
  readonly exitCode: number | null;
  /** The last part of stdout and stderr (bounded), or why it did not run. */
  readonly output: string;
}

/** What an event of an app's (or the server's) timeline says happened. */
export const EVENT_KINDS = [
  'deploy.started', 'deploy.succeeded', 'deploy.failed',
  'config.changed', 'config.failed',
  'rollback', 'rollback.failed', 'rollback.automatic',
  'scale', 'restart', 'stop', 'start',
  'process.crashed', 'process.crash-loop', 'process.unhealthy', 'process.recovered',
  'node.down', 'node.up',
  'release.restored', 'release.restore-failed',
  'certificate.issued', 'certificate.failed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** One entry of a timeline: an app's (appId set) or the server's (appId null). */
export interface PilotEvent {
  readonly id: number;
  readonly appId: number | null;
  /** The app's name when it happened. */
  readonly app: string | null;
  readonly kind: EventKind;
  /** What happened, for a person: "v4 is live", "web.1 of v4 failed 3 health checks in a row". */
  readonly message: string;
  readonly release: number | null;
  /** `web.1`, when it is about one process. */
  readonly process: string | null;
  readonly createdAt: string;
}

/** Where events are sent: an app's (appId set) or the whole server's (null). */
export interface Webhook {
  readonly id: number;
  readonly appId: number | null;
  readonly url: string;
  /** The kinds it receives; empty: every kind. */
  readonly kinds: readonly EventKind[];
  /** The HMAC-SHA256 key of the X-Pilot-Signature-256 header. */
  readonly secret: string;
  readonly createdAt: string;
}

/** A machine of a Docker Swarm cluster (PILOT_SCHEDULER=swarm), as its manager reports it. */
export interface ClusterNode {
  readonly id: string;
  readonly hostname: string;
  readonly role: 'manager' | 'worker';
  /** The engine's node state: `ready`, `down`, `disconnected` or `unknown`. */
  readonly state: string;
  /** `active` (takes tasks), `drain` (its tasks move elsewhere) or `pause` (keeps its tasks, takes no new ones). */
  readonly availability: NodeAvailability;
  /** The address the swarm reaches it at. */
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Whether it leads the managers' Raft. */
  readonly leader: boolean;
  /** Tasks of any service running on it now. */
  readonly runningTasks: number;
}

export const NODE_AVAILABILITIES = ['active', 'drain', 'pause'] as const;
export type NodeAvailability = (typeof NODE_AVAILABILITIES)[number];

/**
 * An app's repository URL (`pilot apps:create --repo`): Pilot fetches its branch over https
 * and deploys the head, on `pilot git:sync` or when the app's push webhook says it moved.
 */
export interface RepoSource {
  readonly appId: number;
  readonly url: string;
  readonly branch: string;
  /** The token (or `user:token`) git sends as Basic auth; a secret, never shown. */
  readonly credential: string | null;
  /** The key the push webhook's signature is checked with. */
  readonly webhookSecret: string;
  /** The commit the last fetch found at the branch's head, and when; the last fetch's error, if it failed. */
  readonly lastSha: string | null;
  readonly lastFetchedAt: string | null;
  readonly lastError: string | null;
  readonly createdAt: string;
}
