import type { App, Release } from '../../domain/types.js';
import type { AppStatus, ProcessView } from '../../domain/shapes.js';
import type { HealthChecks } from '../routes/health.js';
import type { ApiDeps } from '../api/context.js';
import type { Principal } from '../auth.js';
import { tokenView } from '../api/tokens.js';
import { volumePlacementNote } from '../../domain/volume-placement.js';

/** What the apps page shows of an app: the API's status, with its processes counted per type. */
export interface AppRow extends AppStatus {
  readonly summary: string;
  readonly types: { readonly type: string; readonly running: number; readonly total: number }[];
  readonly cpuPercent: number | null;
  readonly memoryBytes: number | null;
}

/**
 * What an app is doing, in one word: deploying, running, crashed (a process restarting,
 * dead or unhealthy), stopped (none running), failed (its latest release failed and none
 * is live), or new (never deployed).
 */
export function summarize(status: AppStatus, processes: readonly ProcessView[], latest: Pick<Release, 'status'> | undefined): string {
  if (status.deploying) return 'deploying';
  if (!status.release) return latest?.status === 'failed' ? 'failed' : 'new';
  const running = processes.filter((process) => process.state === 'running');
  if (processes.some((process) => ['restarting', 'dead'].includes(process.state) || process.health === 'unhealthy')) return 'crashed';
  if (running.length === 0 && processes.some((process) => process.container !== null)) return 'stopped';
  return 'running';
}

function sum(values: readonly (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : known.reduce((total, value) => total + value, 0);
}

/** The row of an app from what the caller read already: its processes, and its latest release's status (needed only with nothing live). */
export function appRow(status: AppStatus, processes: readonly ProcessView[], latest: Pick<Release, 'status'> | undefined): AppRow {
  const byType = new Map<string, { type: string; running: number; total: number }>();
  for (const process of processes) {
    const entry = byType.get(process.type) ?? { type: process.type, running: 0, total: 0 };
    if (process.container !== null) entry.total += 1;
    if (process.state === 'running') entry.running += 1;
    byType.set(process.type, entry);
  }
  return {
    ...status,
    summary: summarize(status, processes, latest),
    types: [...byType.values()],
    cpuPercent: sum(processes.map((process) => process.cpuPercent)),
    memoryBytes: sum(processes.map((process) => process.memoryBytes)),
  };
}

/**
 * The apps a session may see: every one for an admin, its own for a deploy token. The same
 * few reads for all apps (the API's listing, then processes and latest releases of every
 * app at once, processes' state from memory): nothing is read per app.
 */
export function visibleApps(deps: ApiDeps, principal: Principal): AppRow[] {
  const statuses = deps.apps.list();
  const own = principal.scope === 'admin' ? undefined : deps.apps.nameOf(principal.appId ?? Number.NaN);
  const visible = principal.scope === 'admin' ? statuses : statuses.filter((status) => status.name === own);
  const processes = deps.processes.listEvery();
  const latest = deps.releases.latestStatuses();
  return visible.map((status) => {
    const latestStatus = status.release ? undefined : latest.get(status.name);
    return appRow(status, processes.get(status.name) ?? [], latestStatus && { status: latestStatus });
  });
}

export function releaseRow(release: Release) {
  const seconds = Math.max(0, Math.round((Date.parse(release.updatedAt) - Date.parse(release.createdAt)) / 1000));
  return {
    version: release.version,
    kind: release.kind,
    status: release.status,
    gitSha: release.gitSha,
    source: release.source,
    description: release.description,
    madeBy: release.madeBy?.label ?? 'not recorded',
    failureReason: release.failureReason,
    createdAt: release.createdAt,
    duration: ['building', 'starting', 'checking'].includes(release.status) ? 'in progress' : `${seconds} s`,
    rollbackable: release.status === 'retired' && release.image !== null,
    inProgress: ['building', 'starting', 'checking'].includes(release.status),
  };
}

/** Everything the one-app page shows; what only an admin may see (config, tokens...) only to an admin. */
export async function appPage(deps: ApiDeps, app: App, principal: Principal, options: { reveal: boolean }) {
  const admin = principal.scope === 'admin';
  const status = deps.apps.status(app);
  const processes = deps.processes.list(app);
  const releases = deps.releases.list(app.id);
  const inProgress = releases.filter((release) => ['building', 'starting', 'checking'].includes(release.status));
  const config = admin ? deps.configVars.get(app.id) : {};
  const buildKeys = admin ? deps.configVars.buildKeys(app.id) : [];
  const certificates = await deps.certificates.list(app).catch(() => []);
  return {
    admin,
    app: appRow(status, processes, status.release ? undefined : releases[0]),
    processes,
    types: [...new Set(processes.map((process) => process.type))],
    releases: releases.slice(0, 30).map(releaseRow),
    building: inProgress.map((release) => ({ version: release.version, log: deps.releases.log(release.id) })),
    reveal: options.reveal,
    config: Object.keys(config).sort().map((key) => ({ key, value: config[key], build: buildKeys.includes(key) })),
    certificates,
    domains: admin ? deps.domains.listForApp(app.id) : status.domains,
    storage: admin ? (await deps.storage.listPlaced(app)).map((volume) => ({ ...volume, placement: volume.node === undefined ? undefined : volumePlacementNote(volume.node) })) : [],
    limits: admin ? deps.limits.show(app) : undefined,
    tokens: admin ? deps.tokens.list().filter((token) => token.appName === app.name).map(tokenView) : [],
  };
}

async function checked(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    return (await probe()) === false ? { ok: false, error: 'not reachable' } : { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The server page: the host's metrics, Docker's disk use, the health of what Pilot needs, versions, admin tokens. */
export async function serverPage(deps: ApiDeps, checks: HealthChecks, versions: () => Promise<readonly { name: string; version: string }[]>) {
  const host = deps.metrics.host();
  const [database, docker, caddy, versionList] = await Promise.all([checked(checks.database), checked(checks.docker), checked(checks.caddy), versions()]);
  return {
    host,
    memoryUsedBytes: host ? host.memoryTotalBytes - host.memoryAvailableBytes : null,
    health: [
      { name: 'Database', ...database },
      { name: 'Docker', ...docker },
      { name: 'Caddy', ...caddy },
    ],
    versions: versionList,
    tokens: deps.tokens.list().filter((token) => token.scope === 'admin').map(tokenView),
  };
}
