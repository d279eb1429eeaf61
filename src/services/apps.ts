import type { AppListing, AppRuntime, AppStore, DomainStore, FormationStore, ImageEngine, LiveReleaseSummary, PreviewStore, ReleaseStore, VolumeStore } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import type { AppStatus, ReleaseSummary } from '../domain/shapes.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { validateAppName } from '../domain/app-name.js';
import { validateBuildDir } from './validation.js';
import type { Deployer, RenameHooks } from '../pipeline/deploy.js';
import type { RouteTable } from '../pipeline/switch.js';
import type { LiveProcess, LiveState } from './live-state.js';

export interface AppServiceDeps {
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly domains: DomainStore;
  readonly formation: FormationStore;
  readonly runtime: Pick<AppRuntime, 'list' | 'listOneOffs' | 'remove' | 'forgetApp' | 'listVolumes' | 'removeVolume' | 'link'>;
  readonly volumes: Pick<VolumeStore, 'list' | 'ownerOf'>;
  /** The processes' state as the runtime's events left it: a status never asks the engine. */
  readonly live: Pick<LiveState, 'get' | 'list' | 'version'>;
  /** Rows written so far to the tables the list shows (`countWrites` of LISTED_TABLES): the list is built again once it moved. */
  readonly listedWrites: () => number;
  readonly images: Pick<ImageEngine, 'listImages' | 'removeImage' | 'tagImage'>;
  readonly repositories: { exists(app: string): boolean; create(app: string): Promise<void>; remove(app: string): void; rename(from: string, to: string): void };
  readonly deployer: Deployer;
  readonly routes: RouteTable;
  readonly instance: string;
  /** `appNameMaxLength` of the domain apps answer under. */
  readonly maxNameLength: number;
  readonly appUrl: (app: string) => string;
  /** Told before an app's records go: its cron schedule stops. */
  readonly onDestroy: (app: App) => void;
  /** Its preview apps, destroyed with it. */
  readonly previews: Pick<PreviewStore, 'list' | 'parentOf'>;
}

/** Apps as the API shows them: create, list with status, destroy with everything they own. */
export class AppService {
  /** The last list and what it was built from. */
  private listed: { readonly from: string; readonly apps: readonly AppStatus[] } | undefined;

  constructor(private readonly deps: AppServiceDeps) {}

  /** The app, or a 404 that says how apps come to exist. */
  get(name: string): App {
    const app = this.deps.apps.findByName(name);
    if (!app) {
      const renamedTo = this.deps.apps.renamedTo(name);
      if (renamedTo) throw new NotFoundError(`no app named "${name}": it was renamed to ${renamedTo} (pilot git:remote -a ${renamedTo} points your remote at it)`);
      throw new NotFoundError(`no app named "${name}": create it with \`pilot apps:create ${name}\` or push to it`);
    }
    return app;
  }

  /** The app's id, or undefined; for access checks that must not reveal whether an app exists. */
  findId(name: string): number | undefined {
    return this.deps.apps.findByName(name)?.id;
  }

  /** The name of the app with this id, if it still exists (webhooks keep the id). */
  nameOf(id: number): string | undefined {
    return this.deps.apps.list().find((app) => app.id === id)?.name;
  }

  async create(name: string): Promise<App> {
    validateAppName(name, this.deps.maxNameLength);
    if (this.deps.apps.findByName(name)) throw new ConflictError(`an app named "${name}" exists already`);
    const app = this.deps.apps.create(name);
    await this.deps.repositories.create(name);
    return app;
  }

  status(app: AppListing['app']): AppStatus {
    return this.statusWith(app, this.deps.releases.live(app.id), this.deps.domains.listForApp(app.id));
  }

  /** The status from what the caller read already (listing: for all apps at once); no live release is `undefined`, and reads nothing. */
  private statusWith(app: AppListing['app'], live: LiveReleaseSummary | undefined, domains: string[]): AppStatus {
    const process = live && this.liveProcess(app.name, live);
    return {
      name: app.name,
      createdAt: app.createdAt,
      url: this.deps.appUrl(app.name),
      domains,
      deploying: this.deps.deployer.isDeploying(app.name),
      release: live ? releaseSummary(live) : null,
      state: live ? (process?.status ?? (this.runsNothing(app) ? 'scaled to 0' : 'missing')) : null,
      buildDir: app.buildDir,
      maintenance: app.maintenance,
      watchSeconds: app.watchSeconds,
    };
  }

  /**
   * The live release's recorded web process or, when it is gone, another web process of that
   * release, a running one first: a scheduler (Swarm) reschedules tasks under new ids.
   */
  private liveProcess(name: string, live: LiveReleaseSummary): LiveProcess | undefined {
    const recorded = live.containerId ? this.deps.live.get(live.containerId) : undefined;
    if (recorded) return recorded;
    const web = this.deps.live.list({ app: name, release: live.version }).filter((process) => process.identity.type === 'web');
    return web.find((process) => process.running) ?? web[0];
  }

  /** Every process type scaled to 0 (ps:scale web=0): nothing runs, by choice. */
  private runsNothing(app: Pick<App, 'id'>): boolean {
    const scaled = Object.values(this.deps.formation.get(app.id));
    return scaled.length > 0 && scaled.every((quantity) => quantity === 0);
  }

  /**
   * Maintenance mode: visitors get a 503 page with Retry-After, served by Caddy, while the app
   * keeps running (a deploy, a migration by `pilot run`); off, they reach the app again.
   */
  async setMaintenance(app: App, on: boolean): Promise<AppStatus> {
    this.deps.apps.setMaintenance(app.id, on);
    await this.deps.routes.reload();
    return this.status({ ...app, maintenance: on });
  }

  /** Sets (null: clears) the app's build-dir (the next push builds from it) and how long new releases are watched. */
  changeSettings(app: App, settings: { buildDir?: string | null; watchSeconds?: number | null }): App {
    let changed = app;
    if (settings.buildDir !== undefined) {
      const buildDir = settings.buildDir === null ? null : validateBuildDir(settings.buildDir);
      this.deps.apps.setBuildDir(app.id, buildDir);
      changed = { ...changed, buildDir };
    }
    if (settings.watchSeconds !== undefined) {
      this.deps.apps.setWatchSeconds(app.id, settings.watchSeconds);
      changed = { ...changed, watchSeconds: settings.watchSeconds };
    }
    return changed;
  }

  /**
   * Every app with its status: the same array while nothing it shows changed (rows of the listed
   * tables, a process's state, a deploy starting or ending), built again at the first call after
   * any change. Dashboards and scripts poll it; callers may keep what they derive from one array
   * (the API its serialized answer) as long as list() returns it, and must not change it.
   */
  list(): readonly AppStatus[] {
    const from = `${this.deps.listedWrites()} ${this.deps.live.version} ${this.deps.deployer.deployingApps().join(',')}`;
    if (this.listed?.from !== from) this.listed = { from, apps: this.buildList() };
    return this.listed.apps;
  }

  private buildList(): AppStatus[] {
    // Two queries for all apps, whatever their number.
    const domains = this.deps.domains.all();
    return this.deps.apps.listings().map(({ app, live }) => this.statusWith(app, live, domains.get(app.id) ?? []));
  }

  /**
   * Renames the app (heroku apps:rename): validated as a new app's name, refused when taken or
   * while a deploy of the app runs. Everything keyed by the app's id stays (config, releases,
   * domains, tokens, links, cron, webhooks, volumes, whose Docker names stay those they got at
   * their mount); its images, repository, network and processes take the new name, the
   * processes blue/green (Deployer.renameApp), so custom domains never fail a request.
   */
  async rename(app: App, to: string, write?: (line: string) => void): Promise<App> {
    if (to === app.name) throw new ValidationError(`${app.name} is already called ${to}: give another name`);
    validateAppName(to, this.deps.maxNameLength);
    if (this.deps.apps.findByName(to)) throw new ConflictError(`an app named "${to}" exists already: pick another name`);
    // A preview's name is its app's and branch's; an app's previews carry its name.
    if (this.deps.previews.parentOf(app.id) !== undefined) throw new ValidationError(`${app.name} is a preview: its name comes from its app and branch, so it cannot be renamed`);
    const previews = this.deps.previews.list(app.id);
    if (previews.length > 0) {
      throw new ConflictError(`${app.name} has previews (${previews.map((preview) => preview.name).join(', ')}), named after it: destroy them first (\`pilot previews:destroy BRANCH -a ${app.name}\`), then rename`);
    }
    if (this.deps.deployer.isDeploying(app.name)) {
      throw new ConflictError(`${app.name} is deploying (a push, a config change or a restart): rename it once that is done (\`pilot releases -a ${app.name}\`)`);
    }
    return this.deps.deployer.renameApp(app, to, this.renameHooks(app.name, to), write);
  }

  private renameHooks(from: string, to: string): RenameHooks {
    const { images, runtime, instance } = this.deps;
    const oldRepository = `${instance}/${from}`;
    const imageOf = (image: string): string => (image.startsWith(`${oldRepository}:`) ? `${instance}/${to}:${image.slice(oldRepository.length + 1)}` : image);
    const tagged: string[] = [];
    return {
      imageOf,
      prepare: async (app) => {
        // Docker cannot rename an image: every tag of the old name gets one of the new (the same image).
        for (const image of await images.listImages(oldRepository)) {
          await images.tagImage(image, imageOf(image));
          tagged.push(imageOf(image));
        }
        // The apps linked to this one reach it as http://<new name>:PORT on its new network.
        for (const linked of this.deps.apps.linkedFrom(app.id)) await runtime.link(linked, to);
      },
      commit: (app) => {
        for (const release of this.deps.releases.list(app.id)) {
          if (release.image && imageOf(release.image) !== release.image) this.deps.releases.update(release.id, { image: imageOf(release.image) });
        }
        this.deps.repositories.rename(from, to);
      },
      undo: async () => {
        for (const image of tagged) await images.removeImage(image);
      },
      afterRetire: async () => {
        for (const image of await images.listImages(oldRepository)) await images.removeImage(image);
        // Left over under the old name (an interrupted deploy's): nothing routes or retires them now.
        await runtime.remove((await runtime.list({ app: from })).map((process) => process.id));
        await runtime.forgetApp(from);
        await this.deps.deployer.removeBuildCache(from);
      },
    };
  }

  /**
   * Removes the app and its previews: containers, images, repository, routes and rows (and its volumes when
   * asked), after any deploy in progress. Routes are reloaded first, so Caddy never points at a removed container.
   */
  async destroy(app: App, options: { volumes: boolean }): Promise<{ containers: number; images: number; volumes: number }> {
    // Its previews first, with their volumes: they are deployed from its repository and live only for a branch.
    const removed = { containers: 0, images: 0, volumes: 0 };
    const add = (counts: typeof removed): void => {
      removed.containers += counts.containers;
      removed.images += counts.images;
      removed.volumes += counts.volumes;
    };
    for (const preview of this.previewApps(app)) add(await this.destroy(preview, { volumes: true }));
    const own = await this.destroyAlone(app, options);
    add(own.counts);
    // Previews a push created while the ones above were destroyed: their link to the app went with its row.
    for (const preview of own.latePreviews) add(await this.destroy(preview, { volumes: true }));
    return removed;
  }

  private previewApps(app: App): App[] {
    return this.deps.previews.list(app.id).flatMap((preview) => this.deps.apps.findByName(preview.name) ?? []);
  }

  /** Removes the app itself; `latePreviews`: previews it had when its row went (pushed after destroy() listed them). */
  private async destroyAlone(app: App, options: { volumes: boolean }): Promise<{ counts: { containers: number; images: number; volumes: number }; latePreviews: App[] }> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      this.deps.onDestroy(app);
      // A renamed app's volumes keep the names (and labels) of its name at their mount.
      const mounted = this.deps.volumes.list(app.id).map((volume) => volume.name);
      // Read with no await before the delete: after it a push finds no preview settings of the app (cascaded), so it makes no preview.
      const latePreviews = this.previewApps(app);
      this.deps.apps.delete(app.id);
      await this.deps.routes.reload();
      const processes = [...(await this.deps.runtime.list({ app: app.name })), ...(await this.deps.runtime.listOneOffs(app.name))];
      await this.deps.runtime.remove(processes.map((process) => process.id));
      await this.deps.runtime.forgetApp(app.name);
      const images = await this.deps.images.listImages(`${this.deps.instance}/${app.name}`);
      for (const image of images) await this.deps.images.removeImage(image);
      this.deps.repositories.remove(app.name);
      await this.deps.deployer.removeBuildCache(app.name);
      // Volumes hold the app's data: kept unless asked, so an app created again under this name finds them.
      // Labelled with this name but recorded by another app: an app renamed away from it, whose data they hold.
      const labelled = (await this.deps.runtime.listVolumes(app.name)).filter((volume) => this.deps.volumes.ownerOf(volume) === undefined);
      const volumes = options.volumes ? [...new Set([...labelled, ...mounted])] : [];
      for (const volume of volumes) await this.deps.runtime.removeVolume(volume);
      return { counts: { containers: processes.length, images: images.length, volumes: volumes.length }, latePreviews };
    });
  }
}

export function releaseSummary(release: Pick<Release, 'version' | 'kind' | 'gitSha' | 'createdAt'>): ReleaseSummary {
  return { version: release.version, kind: release.kind, gitSha: release.gitSha, createdAt: release.createdAt };
}
