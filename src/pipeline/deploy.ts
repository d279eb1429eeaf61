import type { Logger } from 'pino';
import type {
  AppProcess, AppRuntime, AppStore, ConfigStore, EventLog, FormationStore, ImageEngine, ImageRegistry, ReleaseStore, ReleaseUpdate, SubmoduleFetcher, VolumeStore, Workspaces,
} from '../domain/ports.js';
import type { App, EventKind, Release, ReleaseAuthor, Slot, Volume } from '../domain/types.js';
import { ConflictError, DeployError, PilotError } from '../domain/errors.js';
import { canTransition } from '../domain/release-states.js';
import type { Config } from '../config.js';
import { detectBuildpack, isReadFile, type BuildPlan } from './detect.js';
import { buildReleaseImage } from './build.js';
import { processQuantities, releaseRuntime } from './start.js';
import { imageTagsToKeep, imagesToPrune } from './retire.js';
import { RolloutFailure, describeFailure, planRelease, planRename, planRestore, type Rollout, type RunnableRelease } from './rollout.js';
import { DeployOutput } from './output.js';
import { KeyedMutex, Semaphore } from './mutex.js';
import { appUrl } from './routes.js';
import { fetchSubmodules, pushSubmodules } from './submodules.js';
import { EMPTY_APP_JSON } from './app-json.js';

/** The part of the configuration a deploy reads. */
export type DeploySettings = Pick<
  Config,
  | 'instance' | 'domain' | 'tls' | 'httpPort' | 'httpsPort' | 'nodeImage' | 'staticImage'
  | 'healthTimeoutSeconds' | 'drainSeconds' | 'stopTimeoutSeconds' | 'buildTimeoutSeconds'
  | 'buildConcurrency' | 'buildCpus' | 'buildMemoryBytes' | 'buildPids' | 'keepReleases' | 'maxPushBytes' | 'appMemoryBytes' | 'appCpus'
  | 'cronAllowSeconds' | 'buildAllowedImages' | 'appPids'
>;

export interface DeployerDeps {
  readonly settings: DeploySettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly formation: FormationStore;
  readonly volumes: VolumeStore;
  readonly images: ImageEngine;
  /** Swarm mode: the registry the nodes pull from, pruned along with the engine's images. */
  readonly registry?: Pick<ImageRegistry, 'collect'>;
  readonly runtime: Pick<AppRuntime, 'list' | 'remove' | 'ensureVolume' | 'retireSingleHost'>;
  readonly rollout: Rollout;
  readonly workspaces: Workspaces;
  readonly submodules: SubmoduleFetcher;
  readonly renderDockerfile: (buildpack: string, context: object) => string;
  readonly buildpackDir: (buildpack: string) => string;
  /** The commit a branch of an app's repository points at now. */
  readonly branchHead: (app: string, branch: string) => Promise<string | undefined>;
  /** Told once a release of the app went live (deploy, config change, rollback): the cron schedule follows it. */
  readonly onLive: (app: App) => void;
  /** Hears how each push ended and how long it took (metrics). */
  readonly onPushFinished?: (result: 'succeeded' | 'failed', seconds: number) => void;
  /** Hears of each release started, gone live or failed. */
  readonly events: EventLog;
  readonly logger: Logger;
}

/** A push to the deploy branch, as the pre-receive hook reports it. */
export interface PushRequest {
  readonly app: string;
  readonly branch: string;
  /** What the pusher saw the branch at (zeros for a new branch). */
  readonly oldSha: string;
  readonly newSha: string;
  /** `git archive` of newSha. */
  readonly source: NodeJS.ReadableStream;
  /** The hook's list of the tree's gitlinks and .gitmodules (pipeline/submodules.ts), when it has gitlinks. */
  readonly submoduleManifest?: string;
  /** The app it deploys when not `app` itself: a preview of `app` (its branch is in `app`'s repository). */
  readonly into?: string;
  /** Who pushed: the token git authenticated with. */
  readonly madeBy: ReleaseAuthor;
}

/**
 * What a deploy starts from: a tree to build (a push's `git archive`, an uploaded archive as a
 * tar), or an image to run as it is. `source` is what the release records (Release.source).
 */
export type DeploySource =
  | {
      readonly kind: 'tree';
      readonly tar: NodeJS.ReadableStream;
      /** What is received, for the first line of the output (`3f2a1c9`, `archive sha256:…`). */
      readonly description: string;
      readonly source: string;
      readonly gitSha: string | null;
      readonly submoduleManifest?: string;
    }
  | {
      readonly kind: 'image';
      /** An image the engine has or can pull, or a `docker save` tarball. */
      readonly image: { readonly name: string } | { readonly archive: NodeJS.ReadableStream };
      readonly description: string;
    };

/** A deploy that is not a push (an upload, an image): the same build and rollout, without a branch. */
export interface SourceDeploy {
  readonly app: string;
  readonly source: DeploySource;
  readonly madeBy: ReleaseAuthor;
}

/** A source made ready under the app's lock (a repository's branch fetched), and what to remove once it was deployed. */
export interface PreparedSource {
  readonly source: DeploySource;
  readonly release: () => Promise<void>;
}

/** A volume as processes mount it. */
type MountedVolume = Pick<Volume, 'path' | 'name'>;

/** A new release from an existing image: a config change (the live release's image) or a rollback (an old release's). */
export interface ImageRelease {
  readonly kind: 'config' | 'rollback';
  /** The release whose image runs. */
  readonly from: Release;
  /** The app's config vars once it is live, and which of them are build vars. */
  readonly config: Readonly<Record<string, string>>;
  readonly buildKeys: readonly string[];
  /** The limits its processes get, when they change with it (default: the app's). */
  readonly limits?: Pick<App, 'memoryBytes' | 'cpus' | 'capAdd'>;
  /** The volumes its processes mount, when they change with it (default: the app's). */
  readonly volumes?: readonly MountedVolume[];
  /** What the release does, for people: "Set GREETING", "Rollback to v2". */
  readonly description?: string;
  /** Who asks for it: a token, or Pilot itself (an automatic rollback). */
  readonly madeBy: ReleaseAuthor;
}

/** What a change of the app does, decided under its lock (see Deployer.changeApp). */
export interface AppChange {
  /** Writes the change to the database (a release's config vars become the app's by themselves). */
  readonly commit: () => void;
  /** The release that applies it; none when nothing has to be rolled out. */
  readonly release?: ImageRelease;
}

/** What a rename does beyond the app's row and its processes (AppService: the repository, images, links, network). */
export interface RenameHooks {
  /** Before the new processes start: their image under the new name, linked apps joined to the new network. */
  prepare(app: App, renamed: App): Promise<void>;
  /** The image a release runs once renamed. */
  imageOf(image: string): string;
  /** Written with the switch (and at once without a live release): the repository, the releases' images. */
  commit(app: App, renamed: App): void;
  /** The rollout failed before its switch: what `prepare` made goes. */
  undo(app: App, renamed: App): Promise<void>;
  /** The old processes are gone: what the old name still holds goes (its image tags, network, leftovers). */
  afterRetire(app: App): Promise<void>;
}

const ZERO_SHA = /^0+$/;
/** The port of an image that EXPOSEs none (and of an app without a PORT config var), as on Heroku. */
const DEFAULT_PORT = 5000;

/** What a new release's build or import sets on it. */
type ReleaseFields = Required<Pick<ReleaseUpdate, 'image' | 'port' | 'healthChecks' | 'processes' | 'formation' | 'releaseCommand' | 'scripts' | 'cron'>> &
  Pick<ReleaseUpdate, 'buildpack'>;

/** The events a release of each kind records when it goes live and when it fails. */
const RELEASE_EVENTS: Record<Release['kind'], { live: EventKind; failed: EventKind; note: string }> = {
  deploy: { live: 'deploy.succeeded', failed: 'deploy.failed', note: '' },
  config: { live: 'config.changed', failed: 'config.failed', note: ' (a config, limits or storage change)' },
  rollback: { live: 'rollback', failed: 'rollback.failed', note: ' (a rollback)' },
};

/**
 * The deploy story: receive → detect → build → start → check → switch → retire.
 * Anything failing before the switch removes the new container and leaves the live release
 * serving; the old container is retired only after the switch, and only after it drained.
 */
export class Deployer {
  private readonly appLocks = new KeyedMutex();
  private readonly builds: Semaphore;
  /**
   * Branch moves git has yet to write: a deploy that went live releases the app's lock when
   * its hook answers, a moment before git updates the ref. The next push compares against this.
   */
  private readonly landing = new Map<string, { readonly from: string; readonly to: string }>();

  constructor(private readonly deps: DeployerDeps) {
    this.builds = new Semaphore(deps.settings.buildConcurrency);
  }

  private running = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** Resolves once no push is being deployed (Pilot stopping). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deploys a push; every line for the pusher goes to `write`. Resolves whether it went live. */
  deployPush(push: PushRequest, write: (line: string) => void): Promise<boolean> {
    const source: DeploySource = {
      kind: 'tree', tar: push.source, description: push.newSha.slice(0, 7), source: `git ${push.newSha}`, gitSha: push.newSha,
      ...(push.submoduleManifest === undefined ? {} : { submoduleManifest: push.submoduleManifest }),
    };
    return this.deployUnderLock(push.into ?? push.app, write, async (app, output) => {
      const head = await this.settledHead(push.app, push.branch);
      if (head !== (ZERO_SHA.test(push.oldSha) ? '' : push.oldSha)) {
        output.error(`${push.branch} moved while you waited; pull and push again`);
        return false;
      }
      const live = await this.deployLocked(app, source, push.madeBy, write);
      if (live) this.landing.set(`${push.app}/${push.branch}`, { from: head, to: push.newSha });
      return live;
    });
  }

  /** Deploys an upload or an image exactly as a push, streaming the same output. Resolves whether it went live. */
  deploySource(request: SourceDeploy, write: (line: string) => void): Promise<boolean> {
    return this.deployUnderLock(request.app, write, (app) => this.deployLocked(app, request.source, request.madeBy, write));
  }

  /**
   * Deploys what `prepare` makes once the app's lock is held (a repository's branch fetched at
   * its head of that moment), exactly as a push. A refusal of `prepare` (a fetch that failed)
   * is shown with what still serves, and deploys nothing. Resolves whether it went live.
   */
  deployPrepared(
    appName: string,
    madeBy: ReleaseAuthor,
    prepare: (app: App, output: DeployOutput) => Promise<PreparedSource>,
    write: (line: string) => void,
  ): Promise<boolean> {
    return this.deployUnderLock(appName, write, async (app, output) => {
      let prepared: PreparedSource;
      try {
        prepared = await prepare(app, output);
      } catch (error) {
        if (!(error instanceof PilotError)) throw error;
        const live = this.deps.releases.live(app.id);
        const serving = live ? `v${live.version} is still serving` : `nothing was deployed; ${app.name} has no live release`;
        output.error(error.message);
        output.error(serving);
        // No release was made: the timeline (and its webhooks) still hear of it, as nobody may be reading this output (a push webhook's deploy).
        this.deps.events.record({ appId: app.id, app: app.name, kind: 'deploy.failed', message: `${error.message}; ${serving}` });
        return false;
      }
      try {
        return await this.deployLocked(app, prepared.source, madeBy, write);
      } finally {
        await prepared.release();
      }
    });
  }

  private async deployUnderLock(appName: string, write: (line: string) => void, deploy: (app: App, output: DeployOutput) => Promise<boolean>): Promise<boolean> {
    this.running += 1;
    const startedAt = performance.now();
    let live = false;
    try {
      const output = new DeployOutput(write);
      const app = this.deps.apps.findByName(appName);
      if (!app) {
        output.error(`no app named "${appName}"`);
        return false;
      }
      if (this.appLocks.isBusy(app.name)) output.step(`Waiting for the deploy in progress on ${app.name} to finish`);
      live = await this.appLocks.run(app.name, () => {
        const current = this.deps.apps.findByName(app.name);
        if (!current) {
          output.error(`${app.name} was renamed or destroyed while this deploy waited: push to its new remote (pilot git:remote -a NEW-NAME)`);
          return Promise.resolve(false);
        }
        return deploy(current, output);
      });
      return live;
    } finally {
      this.deps.onPushFinished?.(live ? 'succeeded' : 'failed', (performance.now() - startedAt) / 1000);
      this.running -= 1;
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** The branch head once the previous deploy's ref update landed (or, if git never wrote it, gave up on it). */
  private async settledHead(app: string, branch: string): Promise<string> {
    const key = `${app}/${branch}`;
    const pending = this.landing.get(key);
    this.landing.delete(key);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const head = (await this.deps.branchHead(app, branch)) ?? '';
      if (!pending || head !== pending.from || Date.now() > deadline) return head;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Retires a release's processes after the drain, in the background (a release that served until a crash). */
  retire(app: App, version: number, slot: Slot, processes: readonly AppProcess[]): void {
    this.deps.rollout.retire(app, version, slot, processes, () => this.pruneImages(app));
  }

  /**
   * Puts the app's processes back on its live release at its formation, under its lock (at
   * start: a rolling scheduler runs another release, `reason`, after Pilot's stop cut a rolling
   * update short; or the app ran on one host before swarm mode, and `replacing` are its plain
   * containers there). Runs in the background; a failure is logged and told in the timeline
   * (the next deploy replaces what runs). The plain containers of an app without volumes go
   * only once the restore succeeded: a move that fails loses nothing. Those of an app with
   * volumes stop first (moveVolumes).
   */
  async restoreLive(requested: App, reason: string, replacing?: readonly AppProcess[]): Promise<void> {
    const { logger, events } = this.deps;
    let restoring: { app: App; version: number } | undefined;
    let stoppedFirst = '';
    await this.appLocks.run(requested.name, async () => {
      const app = this.deps.apps.findByName(requested.name);
      const live = app && this.deps.releases.live(app.id);
      if (!app || !live?.image || !live.port) return;
      restoring = { app, version: live.version };
      logger.warn({ app: app.name, reason }, replacing ? `putting the live release v${live.version} on the swarm` : `the scheduler does not run the live release v${live.version}: putting it back`);
      const volumes = this.deps.volumes.list(app.id);
      if (replacing) stoppedFirst = await this.moveVolumes(app, volumes, replacing);
      const runnable = { ...live, image: live.image, port: live.port };
      const runtime = releaseRuntime(app, runnable, this.deps.settings, volumes);
      const quantities = processQuantities(live, this.deps.formation.get(app.id));
      const plan = planRestore(app, runnable, runtime, quantities, await this.deps.runtime.list({ app: app.name }));
      await this.deps.rollout.run(plan, new DeployOutput((line) => logger.info({ app: app.name }, line)), { commit: () => undefined });
      const removed = !replacing ? '' : volumes.length > 0 ? stoppedFirst : await this.removeReplaced(app, replacing);
      logger.info({ app: app.name }, `v${live.version} runs again as recorded`);
      const message = replacing ? `v${live.version} moved onto the swarm (${reason})${removed}` : `v${live.version} runs again as recorded (${reason})`;
      events.record({ appId: app.id, app: app.name, kind: 'release.restored', release: live.version, message });
    }).catch((error: unknown) => {
      const left = !replacing?.length ? '' : stoppedFirst || '; its containers from one host are left running';
      if (replacing?.length) {
        const containers = replacing.map((process) => process.name);
        logger.warn({ app: requested.name, containers }, stoppedFirst ? 'its containers from one host were stopped first: its data is on its volumes' : 'its containers from one host are left running');
      }
      logger.error({ err: error, app: requested.name }, 'the live release could not be put back on the scheduler: deploy the app again');
      if (!restoring) return;
      const { app, version } = restoring;
      const why = error instanceof Error ? error.message : String(error);
      const message = replacing
        ? `v${version} could not be moved onto the swarm (${reason}): ${why}${left}; deploy the app again`
        : `v${version} could not be put back on the scheduler (${reason}): ${why}; deploy the app again`;
      events.record({ appId: app.id, app: app.name, kind: 'release.restore-failed', release: version, message });
    });
  }

  /**
   * Before a move onto the swarm: each volume is placed on the manager, where a single-host
   * Pilot left it (its services are pinned to the node that holds it). An app with volumes then
   * has its plain containers stopped before its services start, as a stop-first deploy would:
   * two writers must never share the volume. Nothing routes to those containers in swarm mode
   * (Caddy joins only the overlays), so the app is down for that gap either way. Answers what the
   * timeline says of them ('' when nothing stopped).
   */
  private async moveVolumes(app: App, volumes: readonly Volume[], replacing: readonly AppProcess[]): Promise<string> {
    for (const volume of volumes) await this.deps.runtime.ensureVolume(app.name, volume.name);
    if (volumes.length === 0 || replacing.length === 0) return '';
    const names = replacing.map((process) => process.name).join(', ');
    const stop = this.deps.runtime.retireSingleHost?.bind(this.deps.runtime) ?? ((processes) => this.deps.runtime.remove(processes.map((process) => process.id)));
    await stop(replacing, this.deps.settings.stopTimeoutSeconds);
    this.deps.logger.info({ app: app.name, containers: names }, 'stopped its containers from one host before its services start: they share its volumes');
    return `; its containers from one host were stopped first (${names}), its data is on its volumes (${volumes.map((volume) => volume.name).join(', ')})`;
  }

  /**
   * The plain containers an app ran in on one host, once its services serve. Answers what the
   * timeline says of them; a removal that fails is said there and logged, the move stands.
   */
  private async removeReplaced(app: App, replacing: readonly AppProcess[]): Promise<string> {
    if (replacing.length === 0) return '';
    const names = replacing.map((process) => process.name).join(', ');
    try {
      await this.deps.runtime.remove(replacing.map((process) => process.id));
      this.deps.logger.info({ app: app.name, containers: names }, 'removed its containers from one host: its services serve');
      return `; its containers from one host were removed (${names})`;
    } catch (error) {
      this.deps.logger.error({ err: error, app: app.name, containers: names }, 'its containers from one host could not be removed');
      return `; its containers from one host could not be removed (${names}): \`docker rm -f\` them on the manager`;
    }
  }

  /** Waits for retirements in progress (used when Pilot stops). */
  async settle(): Promise<void> {
    await this.deps.rollout.settle();
  }

  /**
   * A change to how the app runs (config vars, a rollback, limits, storage), decided under the
   * app's lock from the state then: a new release of an existing image, blue/green like a
   * deploy, and the change written (`commit`) only with its switch; with nothing to roll out
   * (no live release, or only build flags changed) it is written at once. A release that does
   * not go live throws with its reason and changes nothing.
   */
  async changeApp(requested: App, decide: (live: Release | undefined) => AppChange, write: (line: string) => void = () => undefined): Promise<Release | null> {
    return this.appLocks.run(requested.name, async () => {
      // As it is now: a change queued behind this one may have written its limits or links.
      const app = this.current(requested.name);
      const live = this.deps.releases.live(app.id);
      const change = decide(live);
      if (!change.release) {
        change.commit();
        return null;
      }
      const release = await this.releaseFromImage(app, change.release, change.commit, write);
      if (release.status !== 'live') {
        const now = this.deps.releases.live(app.id);
        throw new DeployError(
          'PILOT_RELEASE_FAILED',
          `v${release.version} failed: ${release.failureReason ?? 'unknown reason'}; ${now ? `v${now.version} is still serving` : 'nothing serves'}`,
        );
      }
      return release;
    });
  }

  /**
   * Gives the app a new name, under the locks of both names: the live release starts again
   * under the new identity in the other slot (blue/green, like a restart), the routes move to
   * the new name's at the switch (custom domains with them, in the same load), and the old
   * processes retire once they drained. The rename is written (`apps.rename` and
   * `hooks.commit`) only with the switch; a failure before it changes nothing and the app
   * serves on under its old name. A deploy in progress is waited for (the lock).
   */
  async renameApp(requested: App, to: string, hooks: RenameHooks, write: (line: string) => void = () => undefined): Promise<App> {
    return this.appLocks.run(requested.name, () =>
      this.appLocks.run(to, async () => {
        const app = this.current(requested.name);
        if (this.deps.apps.findByName(to)) throw new ConflictError(`an app named "${to}" exists already: pick another name`);
        const renamed: App = { ...app, name: to };
        const commit = (): void => {
          this.deps.apps.rename(app.id, to);
          hooks.commit(app, renamed);
        };
        const live = this.deps.releases.live(app.id);
        if (!live?.image || !live.port) {
          commit();
          await hooks.afterRetire(app);
          return renamed;
        }
        const output = new DeployOutput(write);
        await hooks.prepare(app, renamed);
        const runnable = { ...live, image: hooks.imageOf(live.image), port: live.port };
        const runtime = releaseRuntime(renamed, runnable, this.deps.settings, this.deps.volumes.list(app.id));
        const quantities = processQuantities(live, this.deps.formation.get(app.id));
        const plan = planRename(renamed, runnable, runtime, quantities, await this.deps.runtime.list({ app: app.name }));
        output.step(`Starting v${live.version} as ${to}`);
        try {
          await this.deps.rollout.run(plan, output, {
            commit,
            afterSwitch: () => this.deps.onLive(renamed),
            // After the drain, when this rename's locks are long released: under the old name's lock,
            // and not at all once a new app took that name (what is under it is then the new app's).
            afterRetire: () =>
              this.appLocks.run(app.name, async () => {
                if (!this.deps.apps.findByName(app.name)) await hooks.afterRetire(app);
              }),
          });
        } catch (failure) {
          await hooks.undo(app, renamed).catch((error: unknown) => this.deps.logger.error({ err: error, app: app.name }, 'undoing a failed rename'));
          const error = failure instanceof RolloutFailure ? failure.cause : failure;
          throw new DeployError('PILOT_RENAME_FAILED', `renaming ${app.name} to ${to} failed: ${describeFailure(error, this.deps.logger)}; ${app.name} still serves under its name`);
        }
        output.step(`Switched ${app.name}'s routes to ${to}; the old processes retire after ${this.deps.settings.drainSeconds} s of drain`);
        return renamed;
      }),
    );
  }

  private async releaseFromImage(app: App, request: ImageRelease, commit: () => void, write: (line: string) => void): Promise<Release> {
    const { from } = request;
    if (!from.image || !from.port) throw new ConflictError(`v${from.version} has no image to run (its build did not finish)`);
    if (!(await this.deps.images.imageExists(from.image))) {
      throw new ConflictError(
        `the image of v${from.version} was pruned (images are kept for the last ${this.deps.settings.keepReleases} releases): ` +
          'push that commit again to rebuild it',
      );
    }
    // The image is from's: so are the build vars it was built with.
    const release = this.deps.releases.create({
      appId: app.id, kind: request.kind, gitSha: from.gitSha, source: from.source, config: request.config, buildKeys: from.buildKeys, description: request.description,
      madeBy: request.madeBy,
    });
    const changes = {
      buildpack: from.buildpack ?? undefined,
      image: from.image,
      port: from.port,
      healthChecks: from.healthChecks,
      processes: from.processes,
      formation: from.formation,
      releaseCommand: from.releaseCommand,
      cron: from.cron,
      scripts: from.scripts,
    };
    this.deps.releases.update(release.id, changes);
    const target = { ...app, ...(request.limits ?? {}) };
    await this.attempt(target, release, write, async (logged) => {
      logged.step(request.kind === 'rollback' ? `Rolling back to v${from.version} as v${release.version}` : `Applying config as v${release.version}`);
      const runnable = { ...release, ...changes, buildpack: from.buildpack, image: from.image as string, port: from.port as number };
      await this.rollOut(target, runnable, request.volumes ?? this.deps.volumes.list(app.id), logged, () => {
        this.deps.configVars.replace(app.id, request.config, request.buildKeys);
        commit();
      });
      logged.result(this.liveResult(app.name, changes.processes));
    });
    return this.deps.releases.get(release.id) as Release;
  }

  /** Runs `task` while no deploy of the app runs (destroying an app, process control). */
  withAppLock<T>(app: string, task: () => Promise<T>): Promise<T> {
    return this.appLocks.run(app, () => {
      this.current(app);
      return task();
    });
  }

  /** The app as it is under its lock: one renamed or destroyed while a change waited changes nothing. */
  private current(name: string): App {
    const app = this.deps.apps.findByName(name);
    if (!app) throw new ConflictError(`${name} was renamed or destroyed while this change waited: nothing changed (see \`pilot apps\`)`);
    return app;
  }

  isDeploying(app: string): boolean {
    return this.appLocks.isBusy(app);
  }

  /** The apps isDeploying is true of. */
  deployingApps(): string[] {
    return this.appLocks.busyKeys();
  }

  private async deployLocked(app: App, source: DeploySource, madeBy: ReleaseAuthor, write: (line: string) => void): Promise<boolean> {
    const { releases } = this.deps;
    const config = this.deps.configVars.get(app.id);
    const buildKeys = source.kind === 'tree' ? this.deps.configVars.buildKeys(app.id) : [];
    const release = releases.create({
      appId: app.id, kind: 'deploy', gitSha: source.kind === 'tree' ? source.gitSha : null, source: source.kind === 'tree' ? source.source : null, config, buildKeys,
      description: `Deploy ${source.description}`, madeBy,
    });
    let buildDir: string | undefined;
    try {
      return await this.attempt(app, release, write, async (logged) => {
        logged.step(`Receiving ${source.description} for ${app.name}`);
        const image = `${this.deps.settings.instance}/${app.name}:v${release.version}`;
        let built: ReleaseFields;
        if (source.kind === 'tree') {
          buildDir = await this.deps.workspaces.unpack(source.tar, this.deps.settings.maxPushBytes);
          built = await this.buildTree(app, source, buildDir, { image, config, buildKeys }, logged);
        } else {
          built = await this.importImage(release.id, source, { image, config }, logged);
        }
        releases.update(release.id, built);
        // A deploy keeps the app's config: it changes nothing until it is live (see changeApp).
        await this.rollOut(app, { ...release, ...built }, this.deps.volumes.list(app.id), logged, () => undefined);
        logged.result(this.liveResult(app.name, built.processes));
      });
    } finally {
      if (buildDir) await this.deps.workspaces.remove(buildDir);
    }
  }

  /** Builds the unpacked tree into `image`: submodules, detection, the buildpack's Dockerfile, the build. */
  private async buildTree(
    app: App,
    source: DeploySource & { kind: 'tree' },
    buildDir: string,
    target: { image: string; config: Readonly<Record<string, string>>; buildKeys: readonly string[] },
    logged: DeployOutput,
  ): Promise<ReleaseFields> {
    const { image, config, buildKeys } = target;
    const submodules = pushSubmodules(source.submoduleManifest);
    await fetchSubmodules(this.deps.submodules, buildDir, submodules, this.deps.settings.maxPushBytes, logged);
    const plan = await this.detect(app, buildDir);
    logged.step(`Detected ${plan.description}${app.buildDir ? ` in ${app.buildDir}/` : ''}`);
    for (const note of plan.notes) logged.detail(note);
    if (plan.cron.length > 0) {
      logged.step(`app.json cron: ${plan.cron.length} entr${plan.cron.length === 1 ? 'y' : 'ies'} (UTC), scheduled once this release is live`);
      for (const entry of plan.cron) logged.detail(`${entry.schedule}  ${entry.command}${entry.maintenance ? '  (maintenance: not run)' : ''}`);
    }
    if (this.builds.full) {
      logged.step(`Waiting for a build slot: ${this.builds.limit} build(s) of other apps running (PILOT_BUILD_CONCURRENCY)`);
    }
    await this.builds.run(() =>
      buildReleaseImage(
        this.deps,
        {
          app: app.name,
          buildDir,
          plan,
          tag: image,
          timeoutSeconds: this.deps.settings.buildTimeoutSeconds,
          limits: { cpus: this.deps.settings.buildCpus, memoryBytes: this.deps.settings.buildMemoryBytes, pids: this.deps.settings.buildPids },
          buildVars: Object.fromEntries(buildKeys.map((key) => [key, config[key] ?? ''])),
          maxCacheBytes: this.deps.settings.maxPushBytes,
          imagePolicy: {
            instance: this.deps.settings.instance,
            app: app.name,
            baseImages: [this.deps.settings.nodeImage, this.deps.settings.staticImage],
            allowed: this.deps.settings.buildAllowedImages,
          },
        },
        logged,
      ),
    );
    const port = plan.port ?? (await this.deps.images.exposedPort(image)) ?? DEFAULT_PORT;
    return {
      buildpack: plan.buildpack,
      image,
      port,
      healthChecks: plan.healthChecks,
      processes: plan.processes,
      formation: plan.formation,
      releaseCommand: plan.releaseCommand,
      scripts: plan.scripts,
      cron: plan.cron,
    };
  }

  /**
   * A prebuilt image as the release's: pulled or loaded, tagged as a built release's image (so
   * pruning and rollback treat it alike), run with its own command on its EXPOSEd port (else
   * the app's PORT config var), as the Dockerfile buildpack runs a Dockerfile's.
   */
  private async importImage(
    releaseId: number,
    source: DeploySource & { kind: 'image' },
    target: { image: string; config: Readonly<Record<string, string>> },
    logged: DeployOutput,
  ): Promise<ReleaseFields> {
    const { images } = this.deps;
    const name = 'name' in source.image
      ? (await images.ensureImage(source.image.name, (line) => logged.detail(line)), source.image.name)
      : await images.loadImage(source.image.archive, (line) => logged.detail(line));
    const id = await images.tagImage(name, target.image);
    this.deps.releases.update(releaseId, { source: `image ${name}@${id}` });
    logged.step(`Running image ${name} (${id.slice(0, 19)}) as ${target.image}`);
    const configuredPort = Number.parseInt(target.config.PORT ?? '', 10);
    const port = (await images.exposedPort(target.image)) ?? (configuredPort > 0 && configuredPort < 65536 ? configuredPort : DEFAULT_PORT);
    const { healthchecks, formation, scripts, cron } = EMPTY_APP_JSON;
    return { image: target.image, port, healthChecks: healthchecks, processes: { web: null }, formation, releaseCommand: null, scripts, cron };
  }

  /**
   * Runs the steps of a release, logging every line to the release and to `write`. On failure
   * the release is marked failed, the failing process's last logs are shown, and the output
   * says what still serves.
   */
  private async attempt(app: App, release: Release, write: (line: string) => void, steps: (logged: DeployOutput) => Promise<void>): Promise<boolean> {
    const { releases } = this.deps;
    const previous = releases.live(app.id);
    // Everything the pusher reads is also the release's log.
    const logged = new DeployOutput((line) => {
      releases.appendLog(release.id, `${line}\n`);
      write(line);
    });
    const tell = (kind: EventKind, message: string): void => this.deps.events.record({ appId: app.id, app: app.name, kind, message, release: release.version });
    if (release.kind === 'deploy') tell('deploy.started', `v${release.version} started building from ${release.gitSha?.slice(0, 7) ?? 'a push'}`);
    try {
      await steps(logged);
      tell(RELEASE_EVENTS[release.kind].live, `v${release.version} is live${RELEASE_EVENTS[release.kind].note}`);
      return true;
    } catch (failure) {
      const error = failure instanceof RolloutFailure ? failure.cause : failure;
      const reason = describeFailure(error, this.deps.logger);
      // Pilot stopping may have failed it already, with its own reason: failed is final.
      const status = releases.get(release.id)?.status;
      if (status && canTransition(status, 'failed')) releases.transition(release.id, 'failed', { failureReason: reason });
      logged.error(reason);
      if (failure instanceof RolloutFailure && failure.lastLogs.trim() !== '') {
        logged.error('last lines of the app log:');
        logged.detail(failure.lastLogs.trimEnd());
      }
      // A failed release is never rolled back to: its image goes now, not at the next success.
      await this.pruneImages(app);
      const serving = previous ? `v${previous.version} is still serving` : `nothing was serving before; ${app.name} has no live release`;
      logged.error(serving);
      tell(RELEASE_EVENTS[release.kind].failed, `v${release.version} failed: ${reason}; ${serving}`);
      return false;
    }
  }

  /** A new release of the app through the one rollout: its whole formation, blue/green. */
  private async rollOut(app: App, release: RunnableRelease, volumes: readonly MountedVolume[], output: DeployOutput, commit: () => void): Promise<void> {
    const { settings } = this.deps;
    const previous = this.deps.releases.live(app.id);
    const runtime = releaseRuntime(app, release, settings, volumes);
    const quantities = processQuantities(release, this.deps.formation.get(app.id));
    const existing = await this.deps.runtime.list({ app: app.name });
    const plan = planRelease(app, release, previous, runtime, quantities, existing);
    await this.deps.rollout.run(plan, output, {
      commit,
      afterSwitch: () => this.deps.onLive(app),
      afterRetire: () => this.pruneImages(app),
    });
  }

  /** Forgets the framework caches kept for an app's next build (the app is being destroyed). */
  removeBuildCache(app: string): Promise<void> {
    return this.deps.workspaces.removeBuildCache(app);
  }

  private async detect(app: App, buildDir: string): Promise<BuildPlan> {
    const facts = await this.deps.workspaces.facts(buildDir, isReadFile);
    return detectBuildpack(facts, this.deps.settings, { appDir: app.buildDir ?? '', configVars: this.deps.configVars.get(app.id) });
  }

  private async pruneImages(app: App): Promise<void> {
    const releases = this.deps.releases.list(app.id);
    for (const image of imagesToPrune(releases, this.deps.settings.keepReleases)) {
      await this.deps.images.removeImage(image).catch((error: unknown) => this.deps.logger.warn({ err: error, image }, 'image not removed'));
    }
    await this.deps.registry?.collect(app.name, () => imageTagsToKeep(this.deps.releases.list(app.id), this.deps.settings.keepReleases))
      .catch((error: unknown) => this.deps.logger.warn({ err: error, app: app.name }, 'registry not collected'));
  }

  /** The app's URL; a worker-only app has none to visit (its name has no route, so no certificate either). */
  private liveResult(app: string, processes: Readonly<Record<string, string | null>>): string {
    return 'web' in processes ? appUrl(app, this.deps.settings) : `${app} is live (worker processes only: no URL)`;
  }
}
