/**
 * Every shape the API takes or gives, once: the routes validate and serialize with these
 * schemas, and the services and the CLI take their types from them (`Static<typeof X>`), so
 * the three cannot drift apart. Bodies state exact types and bounds: they are validated
 * without coercion (a `null` where a number belongs is a 400, never a 0).
 */
import Type, { type Static, type TSchema } from 'typebox';
import { CRON_RUN_STATUSES, EVENT_KINDS, MAX_PROCESS_QUANTITY, NODE_AVAILABILITIES } from './types.js';
import { MAX_PREVIEWS_LIMIT } from './previews.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// Answers.

export const ErrorShape = Type.Object({ error: Type.String(), message: Type.String() });
export type ErrorShape = Static<typeof ErrorShape>;

/** A release as the API shows it: config values stay out (they may be secrets), keys are listed. */
export const ReleaseView = Type.Object({
  version: Type.Integer(),
  kind: Type.Enum(['deploy', 'config', 'rollback']),
  status: Type.String(),
  gitSha: Nullable(Type.String()),
  source: Nullable(Type.String({ description: '`git <sha>`, `archive sha256:<digest>`, `image <name>@<id>` or `repo <url> <sha>`' })),
  buildpack: Nullable(Type.String()),
  image: Nullable(Type.String()),
  configKeys: Type.Array(Type.String()),
  buildKeys: Type.Array(Type.String(), { description: 'The build vars the build of the image was given (a Dockerfile build passes only those it declares as ARG)' }),
  failureReason: Nullable(Type.String()),
  description: Nullable(Type.String({ description: 'What the release did: "Deploy abc1234", "Set GREETING", "Rollback to v2"' })),
  /** Who made the release; null for releases made before Pilot recorded it. */
  madeBy: Nullable(
    Type.Object({
      kind: Type.Enum(['token', 'webhook', 'pilot', 'unknown']),
      tokenId: Nullable(Type.Integer({ description: 'The token that made it (never its secret); null for what is not a token, and once the token was deleted' })),
      label: Type.String({ description: '"admin token ci", "deploy token shop-ci (revoked)", "deleted deploy token old-ci", "push webhook", "Pilot (automatic rollback)"' }),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  /** Only when one release is shown. */
  log: Type.Optional(Type.String()),
});
export type ReleaseView = Static<typeof ReleaseView>;

/** An image to deploy as it is: one the engine has, or can pull. */
export const ImageDeployBody = Type.Object(
  {
    image: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._/:@-]*$',
      maxLength: 255,
      description: 'NAME[:TAG] or NAME@sha256:DIGEST, as `docker pull` takes it',
    }),
  },
  { additionalProperties: false },
);
export type ImageDeployBody = Static<typeof ImageDeployBody>;

export const ReleaseSummary = Type.Object({ version: Type.Integer(), kind: Type.String(), gitSha: Nullable(Type.String()), createdAt: Type.String() });
export type ReleaseSummary = Static<typeof ReleaseSummary>;

export const AppStatus = Type.Object({
  name: Type.String(),
  createdAt: Type.String(),
  url: Type.String(),
  domains: Type.Array(Type.String()),
  deploying: Type.Boolean(),
  release: Nullable(ReleaseSummary),
  state: Nullable(Type.String({ description: 'Docker\'s status of the live release\'s container ("running", "exited"...); null without a live release' })),
  buildDir: Nullable(Type.String({ description: "The app's directory in its repository (build-dir); null for the root" })),
  maintenance: Type.Boolean({ description: 'Visitors get a 503 maintenance page while the app keeps running' }),
  watchSeconds: Nullable(Type.Integer({ description: 'Seconds a new release is watched for an automatic rollback (0: never); null: the server default, PILOT_WATCH_SECONDS' })),
});
export type AppStatus = Static<typeof AppStatus>;

export const DestroyedApp = Type.Object({ destroyed: Type.String(), containers: Type.Integer(), images: Type.Integer(), volumes: Type.Integer() });
export type DestroyedApp = Static<typeof DestroyedApp>;

export const CertificateView = Type.Object({
  host: Type.String(),
  state: Type.Enum(['valid', 'expired', 'missing', 'off']),
  issuer: Nullable(Type.String()),
  expiresAt: Nullable(Type.String()),
  note: Type.String(),
});
export type CertificateView = Static<typeof CertificateView>;
export const CertificateList = Type.Object({ certificates: Type.Array(CertificateView) });

export const DomainList = Type.Object({ domains: Type.Array(Type.String()) });

export const ConfigView = Type.Object({
  config: Type.Record(Type.String(), Type.String()),
  buildKeys: Type.Array(Type.String(), { description: 'Config vars builds see too (build vars); every var is a runtime var' }),
  nextBuild: Type.Optional(
    Type.Array(Type.String(), { description: 'Build vars this change touched: builds see them from the next push; the live image keeps what it was built with' }),
  ),
  release: Type.Optional(Nullable(ReleaseView)),
});
export type ConfigView = Static<typeof ConfigView>;

export const DeployStatus = Type.Object({ deploying: Type.Boolean(), latest: Nullable(ReleaseView) });

/** A container of the live release, or (index and container null) a process type scaled to 0. */
export const ProcessView = Type.Object({
  type: Type.String(),
  index: Nullable(Type.Integer()),
  release: Type.Integer(),
  container: Nullable(Type.String()),
  state: Type.String(),
  startedAt: Nullable(Type.String()),
  uptimeSeconds: Nullable(Type.Integer()),
  restarts: Type.Integer(),
  /** Percent of one core at the last metrics reading (null before the first, or with none of the same process). */
  cpuPercent: Nullable(Type.Number()),
  memoryBytes: Nullable(Type.Integer()),
  memoryLimitBytes: Nullable(Type.Integer()),
  health: Type.Enum(['unknown', 'healthy', 'unhealthy'], { description: "Pilot's health monitor's last verdict (web processes); unknown until checked" }),
  /** The machine it runs on, in swarm mode (the node's hostname). */
  node: Type.Optional(Type.String()),
});
export type ProcessView = Static<typeof ProcessView>;

/** The kept history of metrics: a point every 10 s for an hour, or every 5 min for a day. */
export const MetricsResolution = Type.Enum(['10s', '5m']);
export type MetricsResolution = Static<typeof MetricsResolution>;

export const ProcessMetricsPoint = Type.Object({
  time: Type.String(),
  cpuPercent: Nullable(Type.Number()),
  memoryBytes: Nullable(Type.Number()),
  networkInBytes: Nullable(Type.Number()),
  networkOutBytes: Nullable(Type.Number()),
  restarts: Nullable(Type.Number()),
});

/** A process's latest metrics reading (Docker's stats and state), with its history when asked for. */
export const ProcessMetrics = Type.Object({
  app: Type.String(),
  process: Type.String(),
  release: Type.Integer(),
  container: Type.String(),
  sampledAt: Type.String(),
  cpuPercent: Nullable(Type.Number()),
  memoryBytes: Type.Integer(),
  memoryLimitBytes: Type.Integer(),
  networkInBytes: Type.Integer(),
  networkOutBytes: Type.Integer(),
  restarts: Type.Integer(),
  startedAt: Nullable(Type.String()),
  uptimeSeconds: Nullable(Type.Integer()),
  history: Type.Array(ProcessMetricsPoint),
});
export type ProcessMetrics = Static<typeof ProcessMetrics>;

export const DiskSpace = Type.Object({ path: Type.String(), freeBytes: Type.Integer(), totalBytes: Type.Integer() });
export type DiskSpace = Static<typeof DiskSpace>;

export const HostMetrics = Type.Object({
  sampledAt: Type.String(),
  cpus: Type.Integer(),
  /** Percent of all cores busy since the reading before. */
  cpuPercent: Nullable(Type.Number()),
  load: Type.Array(Type.Number(), { minItems: 3, maxItems: 3 }),
  memoryTotalBytes: Type.Integer(),
  memoryAvailableBytes: Type.Integer(),
  /** The file system of Pilot's data directory, and of Docker's root directory. */
  dataDisk: Nullable(DiskSpace),
  dockerDisk: Nullable(DiskSpace),
  /** Docker's `system df`, read every 5 minutes. */
  dockerUsage: Nullable(Type.Object({ imagesBytes: Type.Integer(), containersBytes: Type.Integer(), volumesBytes: Type.Integer(), buildCacheBytes: Type.Integer() })),
  history: Type.Array(Type.Object({ time: Type.String(), cpuPercent: Nullable(Type.Number()), memoryUsedBytes: Nullable(Type.Number()), load1: Nullable(Type.Number()) })),
});
export type HostMetrics = Static<typeof HostMetrics>;

export const MetricsView = Type.Object({ host: Nullable(HostMetrics), processes: Type.Array(ProcessMetrics) });
export type MetricsView = Static<typeof MetricsView>;

/** A line of an app's log: `process` is the one that wrote it (`web.1`); `time` has all nine digits of its fraction. */
export const LogLine = Type.Object({ time: Type.String(), stream: Type.Enum(['stdout', 'stderr']), text: Type.String(), process: Type.String() });
export type LogLine = Static<typeof LogLine>;

export const LimitsView = Type.Object({
  memoryBytes: Type.Integer(),
  cpus: Type.Number(),
  /** Whether each is the app's own or the default. */
  custom: Type.Object({ memory: Type.Boolean(), cpus: Type.Boolean() }),
  /** Capabilities given back beyond the base set (limits:set cap-add). */
  capAdd: Type.Array(Type.String()),
});
export type LimitsView = Static<typeof LimitsView>;

/** The apps whose network an app joins (links), and those that join its own (linkedFrom). */
export const LinkList = Type.Object({ links: Type.Array(Type.String()), linkedFrom: Type.Array(Type.String()) });
export const LinkBody = Type.Object({ app: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const LinkParams = Type.Object({ app: Type.String({ maxLength: 64 }), other: Type.String({ maxLength: 64 }) });

export const VolumeView = Type.Object({ path: Type.String(), name: Type.String(), createdAt: Type.String() });
export type VolumeView = Static<typeof VolumeView>;

/** A storage change: the volume, the release that rolled it out (null: the app did not run), and in swarm mode its node. */
export const VolumeChange = Type.Object({
  volume: Type.Object({ path: Type.String(), name: Type.String() }),
  release: Nullable(ReleaseView),
  /** Swarm mode: the node that holds the volume, where the app's processes run (updated stop-first). */
  node: Type.Optional(Type.String()),
});

export const TokenView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  prefix: Type.String(),
  scope: Type.Enum(['admin', 'app']),
  app: Nullable(Type.String()),
  createdAt: Type.String(),
  lastUsedAt: Nullable(Type.String()),
});
export type TokenView = Static<typeof TokenView>;

export const CreatedTokenView = Type.Object({ ...TokenView.properties, token: Type.String({ description: 'The secret: in this answer only' }) });

export const Whoami = Type.Object({ scope: Type.Enum(['admin', 'app']), app: Nullable(Type.String()) });
export type Whoami = Static<typeof Whoami>;

const cronRunFields = {
  id: Type.Integer(),
  entry: Type.String(),
  command: Type.String(),
  release: Type.Integer(),
  scheduledAt: Type.String(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
  status: Type.Enum([...CRON_RUN_STATUSES]),
  exitCode: Nullable(Type.Integer()),
};

export const CronRunView = Type.Object({ ...cronRunFields, output: Type.Optional(Type.String()) });
export type CronRunView = Static<typeof CronRunView>;

export const CronEntryView = Type.Object({
  id: Type.String(),
  schedule: Type.String(),
  command: Type.String(),
  maintenance: Type.Boolean(),
  nextRunAt: Nullable(Type.String()),
  lastRun: Nullable(Type.Object(cronRunFields)),
});
export type CronEntryView = Static<typeof CronEntryView>;

/** An entry of an app's or the server's timeline. */
export const EventView = Type.Object({
  id: Type.Integer({ description: 'Grows with every event: resume a stream with ?after=<id>' }),
  app: Nullable(Type.String({ description: 'null: an event of the server' })),
  kind: Type.Enum([...EVENT_KINDS]),
  message: Type.String(),
  release: Nullable(Type.Integer()),
  process: Nullable(Type.String()),
  createdAt: Type.String(),
});
export type EventView = Static<typeof EventView>;

export const WebhookView = Type.Object({
  id: Type.Integer(),
  app: Nullable(Type.String({ description: 'null: a server-wide webhook (every app\'s events and the server\'s)' })),
  url: Type.String(),
  events: Type.Array(Type.String(), { description: 'The event kinds it receives; empty: every kind' }),
  createdAt: Type.String(),
});
export type WebhookView = Static<typeof WebhookView>;

export const CreatedWebhookView = Type.Object({
  ...WebhookView.properties,
  secret: Type.String({ description: 'The key of the X-Pilot-Signature-256 HMAC: in this answer only' }),
});

export const RepoSourceView = Type.Object({
  url: Type.String(),
  branch: Type.String(),
  credential: Type.Boolean({ description: 'Whether a credential is set (it is never shown)' }),
  lastSha: Nullable(Type.String({ description: 'The head the last fetch found' })),
  lastFetchedAt: Nullable(Type.String()),
  lastError: Nullable(Type.String({ description: 'Why the last fetch failed; null once one succeeded' })),
  webhookPath: Type.String({ description: 'The push webhook of the app, under the server URL; signed with the secret of GET .../repo/webhook' }),
});
export type RepoSourceView = Static<typeof RepoSourceView>;

export const RepoWebhookView = Type.Object({
  webhookPath: Type.String(),
  secret: Type.String({ description: "The key of the webhook's signature (GitHub, Gitea, Forgejo, X-Pilot-Signature-256) or GitLab's token" }),
});
export type RepoWebhookView = Static<typeof RepoWebhookView>;

/** What the push webhook answers: a deploy started or queued, an event that deploys nothing and why, a ping's pong. */
export const RepoHookAnswer = Type.Object({
  result: Type.Enum(['deploying', 'queued', 'ignored', 'pong', 'stopping']),
  message: Type.String(),
  branch: Type.Optional(Type.String()),
  sha: Type.Optional(Nullable(Type.String())),
});
export type RepoHookAnswer = Static<typeof RepoHookAnswer>;

// Requests: URL parameters and querystrings (strings on the wire, numbers coerced from them).

export const AppParams = Type.Object({ app: Type.String({ maxLength: 64 }) });
export const ReleaseParams = Type.Object({ app: Type.String({ maxLength: 64 }), version: Type.String({ pattern: '^v?[0-9]{1,9}$' }) });
export const ProcessActionParams = Type.Object({ app: Type.String({ maxLength: 64 }), action: Type.Enum(['restart', 'stop', 'start']) });
export const DomainParams = Type.Object({ app: Type.String({ maxLength: 64 }), domain: Type.String({ maxLength: 300 }) });
export const TokenParams = Type.Object({ token: Type.String({ maxLength: 64 }) });
export const WebhookParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const AppWebhookParams = Type.Object({ app: Type.String({ maxLength: 64 }), id: Type.Integer({ minimum: 1 }) });

export const DestroyQuery = Type.Object({ confirm: Type.Optional(Type.String({ maxLength: 64 })), volumes: Type.Boolean({ default: false }) }, { additionalProperties: false });
export const MetricsQuery = Type.Object({ history: Type.Optional(MetricsResolution) }, { additionalProperties: false });
const LogTime = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$', maxLength: 40 });
/** `web` (a process type) or `web.1` (one process). */
const LogProcess = Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}(\\.[0-9]{1,4})?$' });
export const LogsQuery = Type.Object(
  { lines: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }), ps: Type.Optional(LogProcess), since: Type.Optional(LogTime) },
  { additionalProperties: false },
);
export const LogStreamQuery = Type.Object(
  {
    lines: Type.Integer({ minimum: 0, maximum: 10000, default: 20 }),
    after: Type.Optional(LogTime),
    ps: Type.Optional(LogProcess),
    since: Type.Optional(LogTime),
  },
  { additionalProperties: false },
);
export const EventsQuery = Type.Object(
  {
    after: Type.Integer({ minimum: 0, default: 0, description: 'Only events after this id' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'The newest this many' }),
  },
  { additionalProperties: false },
);
export const EventStreamQuery = Type.Object(
  { after: Type.Integer({ minimum: 0, default: 0, description: 'First send the stored events after this id' }) },
  { additionalProperties: false },
);
export const CronRunsQuery = Type.Object(
  { entry: Type.Optional(Type.String({ pattern: '^[0-9a-f]{1,64}$' })), limit: Type.Integer({ minimum: 1, maximum: 500, default: 20 }) },
  { additionalProperties: false },
);

// Requests: bodies, closed (an unknown field is a 400: a typo must not look like success).

/** An app's repository URL: Pilot fetches the branch over https (with the credential, a secret never shown) and deploys its head. */
export const SetRepoBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'The https:// clone URL, without credentials' }),
    branch: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'The branch that deploys; default main' })),
    credential: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 4096, description: 'A token (or user:token) git sends as Basic auth; null: none; absent: keep the one set' }))),
  },
  { additionalProperties: false },
);
export type SetRepoBody = Static<typeof SetRepoBody>;

export const CreateAppBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 64 }), repo: Type.Optional(SetRepoBody) },
  { additionalProperties: false },
);
export type CreateAppBody = Static<typeof CreateAppBody>;

export const AppSettingsBody = Type.Object(
  {
    buildDir: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 300, description: "The app's directory in the repository; null: the root" }))),
    watchSeconds: Type.Optional(
      Nullable(Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds a new release is watched for an automatic rollback; 0: never; null: PILOT_WATCH_SECONDS' })),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AppSettingsBody = Static<typeof AppSettingsBody>;

export const RenameAppBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64, description: "The app's new name" }) }, { additionalProperties: false });

export const MaintenanceBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });

export const AddDomainBody = Type.Object({ domain: Type.String({ minLength: 1, maxLength: 300 }) }, { additionalProperties: false });

const RollbackTarget = Type.Object(
  { version: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 999_999_999 }), Type.String({ pattern: '^v?[0-9]{1,9}$' })])) },
  { additionalProperties: false },
);
/**
 * `{"version": 3}` or `{"version": "v3"}`; without it, or without a body (null), the release
 * before the live one. `nullable` rather than a union with null, so that a refusal names the field.
 */
export const RollbackBody = Type.Unsafe<Static<typeof RollbackTarget> | null>({ ...RollbackTarget, nullable: true });
export type RollbackBody = Static<typeof RollbackBody>;

const ProcessActionTarget = Type.Object({ type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$' })) }, { additionalProperties: false });
/** `ps:restart worker`: `{"type": "worker"}` acts on one process type; no body, on every process. */
export const ProcessActionBody = Type.Unsafe<Static<typeof ProcessActionTarget> | null>({ ...ProcessActionTarget, nullable: true });

const MAX_CONFIG_CHANGES = 200;
/** `build`: true makes a var a build var (builds see it too), false runtime only again. */
export const ConfigChangeBody = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: MAX_CONFIG_CHANGES })),
    unset: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: MAX_CONFIG_CHANGES })),
    build: Type.Optional(Type.Record(Type.String(), Type.Boolean(), { maxProperties: MAX_CONFIG_CHANGES })),
  },
  { additionalProperties: false },
);
export type ConfigChangeBody = Static<typeof ConfigChangeBody>;

/** `{"web": 3, "worker": 2}`: containers per process type. */
export const ScaleBody = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), Type.Integer({ minimum: 0, maximum: MAX_PROCESS_QUANTITY }), {
  minProperties: 1,
  maxProperties: 20,
  additionalProperties: false,
});
export type ScaleBody = Static<typeof ScaleBody>;

export const AddWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    events: Type.Optional(Type.Array(Type.Enum([...EVENT_KINDS]), { maxItems: EVENT_KINDS.length, description: 'The kinds to send; none or empty: every kind' })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'The HMAC key; default: a random one, in the answer' })),
  },
  { additionalProperties: false },
);
export type AddWebhookBody = Static<typeof AddWebhookBody>;

export const CreateTokenBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 64 }), app: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A deploy token for this app only' })) },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

/** `memory` as Docker writes it ("256m"), `cpus` a number of cores; null for the default. */
export const LimitsBody = Type.Object(
  {
    memory: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 20 }))),
    cpus: Type.Optional(Nullable(Type.Number({ minimum: 0.05, maximum: 1024 }))),
    capAdd: Type.Optional(Nullable(Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 20 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type LimitsBody = Static<typeof LimitsBody>;

/** 0: a terminal that reports no size (script(1) gives one): nothing to resize to. */
const TerminalSize = { columns: Type.Integer({ minimum: 0, maximum: 10000 }), rows: Type.Integer({ minimum: 0, maximum: 10000 }) };

/** What a `pilot run` client sends over its WebSocket: the command first, then stdin (base64), window sizes and the end of input. */
export const RunMessage = Type.Object(
  {
    command: Type.Optional(Type.Array(Type.String({ maxLength: 100_000 }), { minItems: 1, maxItems: 10_000 })),
    tty: Type.Optional(Type.Boolean()),
    /** Stdin will come piped, without a terminal (sent once the server says `started`). */
    pipedStdin: Type.Optional(Type.Boolean()),
    columns: Type.Optional(TerminalSize.columns),
    rows: Type.Optional(TerminalSize.rows),
    stdin: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
    resize: Type.Optional(Type.Object(TerminalSize, { additionalProperties: false })),
    eof: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RunMessage = Static<typeof RunMessage>;

/** A path in the app's containers, as a body (mount) or as the querystring (unmount). */
export const VolumePath = Type.Object({ path: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

// Preview apps (services/previews.ts).

export const PreviewView = Type.Object({
  branch: Type.String(),
  app: Type.String({ description: 'The preview app, `<app>--<branch-slug>`' }),
  url: Type.String(),
  release: Nullable(ReleaseSummary),
  createdAt: Type.String(),
});
export type PreviewView = Static<typeof PreviewView>;

export const PreviewList = Type.Object({
  enabled: Type.Boolean(),
  pattern: Nullable(Type.String({ description: 'The glob of branches that deploy previews; null: every branch but the deploy branch' })),
  maxPreviews: Type.Integer(),
  overrideKeys: Type.Array(Type.String(), { description: 'Config vars previews get in place of the app\'s (values: GET .../previews/config, admin)' }),
  previews: Type.Array(PreviewView),
});
export type PreviewList = Static<typeof PreviewList>;

export const PreviewSettingsBody = Type.Object(
  {
    enabled: Type.Boolean(),
    pattern: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200, description: "A glob of branch names ('preview/*'); null: every branch but the deploy branch; omitted: unchanged" }))),
    maxPreviews: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PREVIEWS_LIMIT, description: 'How many previews may exist at once; omitted: unchanged' })),
  },
  { additionalProperties: false },
);
export type PreviewSettingsBody = Static<typeof PreviewSettingsBody>;

export const PreviewConfigView = Type.Object({ config: Type.Record(Type.String(), Type.String()) });
export type PreviewConfigView = Static<typeof PreviewConfigView>;

export const PreviewConfigBody = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: MAX_CONFIG_CHANGES })),
    unset: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: MAX_CONFIG_CHANGES })),
  },
  { additionalProperties: false },
);
export type PreviewConfigBody = Static<typeof PreviewConfigBody>;

export const PreviewBranchQuery = Type.Object({ branch: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });

// Nodes of the cluster (PILOT_SCHEDULER=swarm).

export const NodeView = Type.Object({
  id: Type.String(),
  hostname: Type.String(),
  role: Type.Enum(['manager', 'worker']),
  state: Type.String({ description: 'ready, down, disconnected or unknown' }),
  availability: Type.Enum([...NODE_AVAILABILITIES], { description: 'active: takes tasks; drain: its tasks move elsewhere; pause: takes no new ones' }),
  address: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  leader: Type.Boolean(),
  runningTasks: Type.Integer({ minimum: 0 }),
});
export type NodeView = Static<typeof NodeView>;

/** A node named by its hostname or its id (or a unique prefix of the id, as the docker CLI takes it). */
export const NodeParams = Type.Object({ node: Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }) });
export const JoinCommandQuery = Type.Object(
  { role: Type.Enum(['worker', 'manager'], { default: 'worker', description: 'The role the joining machine takes' }) },
  { additionalProperties: false },
);
export const JoinCommandView = Type.Object({
  role: Type.Enum(['worker', 'manager']),
  command: Type.String({ description: 'Run on the machine to add: `docker swarm join --token ... ADDRESS:2377`' }),
  install: Type.Optional(Type.String({ description: "Or, on a fresh server from Pilot's source: `./install.sh --join ...` installs Docker, trusts the registry's CA and joins (once the registry runs)" })),
});
export type JoinCommandView = Static<typeof JoinCommandView>;
