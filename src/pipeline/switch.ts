import type { AppProcess, AppRuntime, AppStore, DomainStore, FormationStore, ReleaseStore, RouteLoader } from '../domain/ports.js';
import { processQuantities } from './start.js';
import { DependencyError } from '../domain/errors.js';
import type { Release } from '../domain/types.js';
import { appHost, buildCaddyfileContext, type AppRoute, type CaddyfileContext, type RouteSettings } from './routes.js';
import { Mutex } from './mutex.js';

export interface RoutesDeps {
  readonly settings: RouteSettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly domains: DomainStore;
  readonly formation: FormationStore;
  readonly runtime: Pick<AppRuntime, 'list' | 'routeTarget'>;
  readonly router: RouteLoader;
  readonly renderCaddyfile: (context: CaddyfileContext) => string;
  /** Keeps the last loaded Caddyfile on disk, so a restarted Caddy comes back with its routes. */
  readonly persist: (caddyfile: string) => void;
  /** The health monitor's verdicts (services/live-state.ts): an unhealthy process leaves the route while others serve. */
  readonly health: { isUnhealthy(processId: string): boolean };
  /**
   * The scheduler rolls releases out itself (Swarm): an app's running web processes of any
   * release and number serve (both releases do during a rolling update; a scale-down keeps the
   * tasks Swarm chooses), and the routes reload whenever what they
   * would route differs from what was loaded (a task started, is shutting down, or moved).
   */
  readonly rolling?: boolean;
}

/** A release that should serve instead of its app's live one (the switch of a deploy). */
export interface Candidate {
  readonly appId: number;
  /** The name the app answers at once switched (a rename's new one; else the app's). */
  readonly name?: string;
  readonly release: Release;
  /** `host:port` of each of the candidate's web processes; none for a worker-only app. */
  readonly upstreams: readonly string[];
  /** The runtime's ids of those processes. */
  readonly processIds: readonly string[];
}

/**
 * Renders every app's routes from the database and Docker and loads them into Caddy.
 * Loads are serialized so that no load overwrites a newer one.
 */
/** Why the routes in Caddy no longer match what Pilot last loaded. */
export type StaleRoutes = 'caddy-config-changed' | 'container-address-changed' | 'tasks-changed';

export class RouteTable {
  private readonly loading = new Mutex();
  private controlPlaneUpstream: string | undefined;
  /** Caddy's config as it was right after Pilot's last load: a restarted Caddy shows another. */
  private loadedFingerprint: string | undefined;
  /** Process id → address of every process the last load routes to. */
  private loadedAddresses = new Map<string, string>();
  /** Ids of the web processes the last load meant to route (running or not at that moment). */
  private expectedProcesses = new Set<string>();
  /** The Caddyfile of the last load (rolling mode compares a fresh render with it). */
  private loadedCaddyfile: string | undefined;

  constructor(private readonly deps: RoutesDeps) {}

  /** Where the API listens: known only once it listens (PILOT_PORT may be 0), before the first load. */
  setControlPlaneUpstream(upstream: string | undefined): void {
    this.controlPlaneUpstream = upstream;
  }

  /**
   * Renders the Caddyfile: each app's live release (or the candidate) with the addresses of
   * its running web containers, read from Docker now, up to the app's web scale.
   */
  async render(candidate?: Candidate): Promise<string> {
    return (await this.renderWithProcesses(candidate)).caddyfile;
  }

  private async renderWithProcesses(candidate?: Candidate): Promise<{ caddyfile: string; processes: AppProcess[]; expected: string[]; proxied: string[] }> {
    const serving = new Map<number, Release>(this.deps.releases.allLive().map((release) => [release.appId, release]));
    const processes = await this.deps.runtime.list();
    const routes: AppRoute[] = [];
    const expected: string[] = [];
    for (const app of this.deps.apps.list()) {
      const release = candidate?.appId === app.id ? candidate.release : serving.get(app.id);
      if (!release?.port) continue;
      let upstreams: string[];
      if (candidate?.appId === app.id) {
        expected.push(...candidate.processIds);
        upstreams = [...candidate.upstreams];
      } else {
        const webScale = processQuantities(release, this.deps.formation.get(app.id)).web ?? 0;
        const web = servingWebProcesses(processes, app.name, release, webScale, (id) => this.deps.health.isUnhealthy(id), this.deps.rolling);
        expected.push(...web.map((process) => process.id));
        upstreams = web.flatMap((process) => (process.running ? (this.deps.runtime.routeTarget(process, release.port as number) ?? []) : []));
      }
      // A worker-only app has no URL: no route, no page.
      const unavailable = !('web' in release.processes) ? undefined : app.maintenance ? 'maintenance' : upstreams.length === 0 ? 'not-running' : undefined;
      const name = (candidate?.appId === app.id ? candidate.name : undefined) ?? app.name;
      routes.push({
        id: app.id,
        name,
        hosts: [appHost(name, this.deps.settings.domain), ...this.deps.domains.listForApp(app.id)],
        upstreams,
        ...(unavailable ? { unavailable } : {}),
      });
      // A rename's switch: the name it leaves answers its 404 page from this very load.
      if (name !== app.name) routes.push({ id: app.id, name: app.name, hosts: [appHost(app.name, this.deps.settings.domain)], upstreams: [], unavailable: 'renamed' });
    }
    // A renamed app's old name answers a 404 page that says so, over HTTPS too (its certificate
    // stays one of this file's names), until a new app takes the name.
    const routed = new Set(routes.map((route) => route.name));
    for (const former of this.deps.apps.formerNames()) {
      if (routed.has(former.name)) continue;
      routes.push({ id: former.appId, name: former.name, hosts: [appHost(former.name, this.deps.settings.domain)], upstreams: [], unavailable: 'renamed' });
    }
    const caddyfile = this.deps.renderCaddyfile(buildCaddyfileContext({ ...this.deps.settings, controlPlaneUpstream: this.controlPlaneUpstream }, routes));
    const proxied = routes.filter((route) => !route.unavailable).flatMap((route) => route.upstreams);
    return { caddyfile, processes, expected, proxied };
  }

  /** Renders and loads atomically; if Caddy refuses, nothing changes and the error says why. */
  async reload(): Promise<void> {
    await this.loading.run(() => this.load());
  }

  /**
   * Points the candidate's app at the candidate and runs `commit` (which records it live)
   * before any other load can render, so a concurrent reload never switches traffic back.
   */
  async switchTo(candidate: Candidate, commit: () => void): Promise<void> {
    await this.loading.run(async () => {
      const proxied = await this.load(candidate);
      try {
        // Confirm through Caddy that the new upstreams serve; otherwise put the routes back.
        const loaded = await this.deps.router.upstreams();
        // An app in maintenance shows its page: its new upstreams are not in Caddy's config yet.
        const missing = candidate.upstreams.filter((upstream) => proxied.has(upstream) && !loaded.includes(upstream));
        if (missing.length > 0) throw new DependencyError('PILOT_SWITCH_UNCONFIRMED', `Caddy did not take the new upstreams ${missing.join(', ')}`);
        commit();
      } catch (error) {
        // Not switched after all (unconfirmed, Caddy unreachable, the commit refused): Caddy goes
        // back to what serves, before the candidate's processes are removed.
        await this.load().catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * Reloads when Caddy's routes went stale behind Pilot's back: an external Caddy restarted
   * with another config, or a routed container came back (engine restart) at a new address.
   * A container that was down at the last load (left out of the routes) is added back as
   * soon as it runs again.
   */
  async refreshIfStale(): Promise<StaleRoutes | undefined> {
    return this.loading.run(async () => {
      const reason = await this.staleReason();
      if (reason) await this.load();
      return reason;
    });
  }

  private async staleReason(): Promise<StaleRoutes | undefined> {
    if (this.loadedFingerprint === undefined) return undefined;
    if ((await this.deps.router.configFingerprint()) !== this.loadedFingerprint) return 'caddy-config-changed';
    if (this.deps.rolling) return (await this.renderWithProcesses()).caddyfile !== this.loadedCaddyfile ? 'tasks-changed' : undefined;
    const processes = await this.deps.runtime.list();
    // A process that should serve runs at an address the loaded routes do not have (moved, or back).
    const moved = processes.some(
      (process) => this.expectedProcesses.has(process.id) && process.running && process.address !== undefined && this.loadedAddresses.get(process.id) !== process.address,
    );
    return moved ? 'container-address-changed' : undefined;
  }

  /** Returns the upstreams the loaded config proxies to. */
  private async load(candidate?: Candidate): Promise<Set<string>> {
    const { caddyfile, processes, expected, proxied } = await this.renderWithProcesses(candidate);
    await this.deps.router.load(caddyfile);
    this.deps.persist(caddyfile);
    this.loadedCaddyfile = caddyfile;
    this.expectedProcesses = new Set(expected);
    // The routed upstreams are exactly the expected processes that run with an address.
    this.loadedAddresses = new Map(
      processes.flatMap((process) => (this.expectedProcesses.has(process.id) && process.running && process.address ? [[process.id, process.address] as const] : [])),
    );
    // The load took: failing to read the digest now must not fail it (a switch would be undone);
    // an unknown digest only makes the next check reload.
    this.loadedFingerprint = await this.deps.router.configFingerprint().catch(() => 'unknown');
    return new Set(proxied);
  }
}

/**
 * The web processes that serve a live release: web.1 to web.<scale> in the release's slot
 * (a restart's processes in the other slot serve only once the switch moved the slot), running or not,
 * but those found unhealthy while others are not (when every one is unhealthy, all stay: one
 * that fails its check may still answer some requests, none answers none). In rolling mode the
 * scheduler keeps the formation: every web process it runs serves, of either release and
 * whatever its number (Swarm picks which tasks a scale-down keeps: web.1 and web.3 of three).
 */
export function servingWebProcesses(
  processes: readonly AppProcess[],
  app: string,
  release: Release,
  webScale: number,
  isUnhealthy: (processId: string) => boolean = () => false,
  /** RoutesDeps.rolling. */
  rolling = false,
): AppProcess[] {
  const web = processes.filter(({ identity }) =>
    identity.app === app && identity.type === 'web' && (rolling || (identity.release === release.version && identity.slot === release.slot && identity.index <= webScale)),
  );
  const healthy = web.filter((process) => !isUnhealthy(process.id));
  return healthy.some((process) => process.running) ? healthy : web;
}
