import type { AppStore, ContainerEngine, DomainStore, ReleaseStore, RouteLoader } from '../domain/ports.js';
import { DependencyError } from '../domain/errors.js';
import type { Release } from '../domain/types.js';
import { appHost, buildCaddyfileContext, type AppRoute, type CaddyfileContext, type RouteSettings } from './routes.js';
import { Mutex } from './mutex.js';

export interface RoutesDeps {
  readonly settings: RouteSettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly domains: DomainStore;
  readonly engine: ContainerEngine;
  readonly router: RouteLoader;
  readonly renderCaddyfile: (context: CaddyfileContext) => string;
  /** Keeps the last loaded Caddyfile on disk, so a restarted Caddy comes back with its routes. */
  readonly persist: (caddyfile: string) => void;
}

/** A release that should serve instead of its app's live one (the switch of a deploy). */
export interface Candidate {
  readonly appId: number;
  readonly release: Release;
  /** `ip:port` of the candidate's container. */
  readonly upstream: string;
}

/**
 * Renders every app's routes from the database and Docker and loads them into Caddy.
 * Loads are serialized so that no load overwrites a newer one.
 */
export class RouteTable {
  private readonly loading = new Mutex();
  private controlPlaneUpstream: string | undefined;

  constructor(private readonly deps: RoutesDeps) {}

  /** Where the API listens: known only once it listens (PILOT_PORT may be 0), before the first load. */
  setControlPlaneUpstream(upstream: string): void {
    this.controlPlaneUpstream = upstream;
  }

  /** Renders the Caddyfile: live releases (or the candidate), addresses read from Docker now. */
  async render(candidate?: Candidate): Promise<string> {
    const serving = new Map<number, Release>(this.deps.releases.allLive().map((release) => [release.appId, release]));
    if (candidate) serving.set(candidate.appId, candidate.release);
    const routes: AppRoute[] = [];
    for (const app of this.deps.apps.list()) {
      const release = serving.get(app.id);
      if (!release?.containerId || !release.port) continue;
      const container = await this.deps.engine.inspectContainer(release.containerId);
      const upstreams = container?.running && container.ip ? [`${container.ip}:${release.port}`] : [];
      routes.push({
        name: app.name,
        hosts: [appHost(app.name, this.deps.settings.domain), ...this.deps.domains.listForApp(app.id)],
        upstreams,
      });
    }
    return this.deps.renderCaddyfile(buildCaddyfileContext({ ...this.deps.settings, controlPlaneUpstream: this.controlPlaneUpstream }, routes));
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
      await this.load(candidate);
      // Confirm through Caddy that the new upstream serves; otherwise put the routes back.
      if (!(await this.deps.router.upstreams()).includes(candidate.upstream)) {
        await this.load();
        throw new DependencyError('PILOT_SWITCH_UNCONFIRMED', `Caddy did not take the new upstream ${candidate.upstream}`);
      }
      commit();
    });
  }

  private async load(candidate?: Candidate): Promise<void> {
    const caddyfile = await this.render(candidate);
    await this.deps.router.load(caddyfile);
    this.deps.persist(caddyfile);
  }
}
