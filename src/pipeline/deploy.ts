import type { Logger } from 'pino';
import type { AppProcess, AppRuntime, AppStore, ConfigStore, EventLog, FormationStore, ImageEngine, ReleaseStore, SubmoduleFetcher, VolumeStore, Workspaces } from '../domain/ports.js';
import type { App, EventKind, Release, Slot, Volume } from '../domain/types.js';
import { ConflictError, DeployError } from '../domain/errors.js';
import { canTransition } from '../domain/release-states.js';
import type { Config } from '../config.js';
import { detectBuildpack, isReadFile, type BuildPlan } from './detect.js';
import { buildReleaseImage } from './build.js';
import { processQuantities, releaseRuntime } from './start.js';
import { imagesToPrune } from './retire.js';
import { RolloutFailure, describeFailure, planRelease, type Rollout, type RunnableRelease } from './rollout.js';
import { DeployOutput } from './output.js';
import { KeyedMutex, Semaphore } from './mutex.js';
import { appUrl } from './routes.js';
import { fetchSubmodules, pushSubmodules } from './submodules.js';

/** The part of the configuration a deploy reads. */
export type DeploySettings = Pick<
  Config,
  | 'instance' | 'domain' | 'tls' | 'httpPort' | 'httpsPort' | 'nodeImage' | 'staticImage'
  | 'healthTimeoutSeconds' | 'drainSeconds' | 'stopTimeoutSeconds' | 'buildTimeoutSeconds'
  | 'buildConcurrency' | 'buildCpus' | 'buildMemoryBytes' | 'keepReleases' | 'maxPushBytes' | 'appMemoryBytes' | 'appCpus'
  | 'cronAllowSeconds'
>;

export interface DeployerDeps {
  readonly settings: DeploySettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly formation: FormationStore;
  readonly volumes: VolumeStore;
  readonly images: ImageEngine;
  readonly runtime: Pick<AppRuntime, 'list'>;
  readonly rollout: Rollout;
  readonly workspaces: Workspaces;
  readonly submodules: SubmoduleFetcher;
  readonly renderDockerfile: (buildpack: string, context: object) => string;
  readonly buildpackDir: (buildpack: string) => string;
  /** The commit a branch of an app's repository points at now. */
  readonly branchHead: (app: string, branch: string) => Promise<string | undefined>;
  /** Told once a release of the app went live (deploy, config change, rollback): the cron schedule follows it. */
  readonly onLive: (app: App) => void;
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
  readonly limits?: Pick<App, 'memoryBytes' | 'cpus'>;
  /** The volumes its processes mount, when they change with it (default: the app's). */
  readonly volumes?: readonly MountedVolume[];
}

/** What a change of the app does, decided under its lock (see Deployer.changeApp). */
export interface AppChange {
  /** Writes the change to the database (a release's config vars become the app's by themselves). */
  readonly commit: () => void;
  /** The release that applies it; none when nothing has to be rolled out. */
  readonly release?: ImageRelease;
}

const ZERO_SHA = /^0+$/;

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
  async deployPush(push: PushRequest, write: (line: string) => void): Promise<boolean> {
    this.running += 1;
    try {
      return await this.deployPushNow(push, write);
    } finally {
      this.running -= 1;
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private async deployPushNow(push: PushRequest, write: (line: string) => void): Promise<boolean> {
    const output = new DeployOutput(write);
    const app = this.deps.apps.findByName(push.app);
    if (!app) {
      output.error(`no app named "${push.app}"`);
      return false;
    }
    if (this.appLocks.isBusy(app.name)) output.step(`Waiting for the deploy in progress on ${app.name} to finish`);
    return this.appLocks.run(app.name, async () => {
      const head = await this.settledHead(app.name, push.branch);
      if (head !== (ZERO_SHA.test(push.oldSha) ? '' : push.oldSha)) {
        output.error(`${push.branch} moved while you waited; pull and push again`);
        return false;
      }
      const live = await this.deployLocked(app, push, write);
      if (live) this.landing.set(`${app.name}/${push.branch}`, { from: head, to: push.newSha });
      return live;
    });
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
  async changeApp(app: App, decide: (live: Release | undefined) => AppChange, write: (line: string) => void = () => undefined): Promise<Release | null> {
    return this.appLocks.run(app.name, async () => {
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
    const release = this.deps.releases.create({ appId: app.id, kind: request.kind, gitSha: from.gitSha, config: request.config, buildKeys: from.buildKeys });
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
    return this.appLocks.run(app, task);
  }

  isDeploying(app: string): boolean {
    return this.appLocks.isBusy(app);
  }

  private async deployLocked(app: App, push: PushRequest, write: (line: string) => void): Promise<boolean> {
    const { releases } = this.deps;
    const config = this.deps.configVars.get(app.id);
    const buildKeys = this.deps.configVars.buildKeys(app.id);
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: push.newSha, config, buildKeys });
    let buildDir: string | undefined;
    try {
      return await this.attempt(app, release, write, async (logged) => {
        logged.step(`Receiving ${push.newSha.slice(0, 7)} for ${app.name}`);
        const submodules = pushSubmodules(push.submoduleManifest);
        buildDir = await this.deps.workspaces.unpack(push.source, this.deps.settings.maxPushBytes);
        await fetchSubmodules(this.deps.submodules, buildDir, submodules, this.deps.settings.maxPushBytes, logged);
        const plan = await this.detect(app, buildDir);
        logged.step(`Detected ${plan.description}${app.buildDir ? ` in ${app.buildDir}/` : ''}`);
        for (const note of plan.notes) logged.detail(note);
        if (plan.cron.length > 0) {
          logged.step(`app.json cron: ${plan.cron.length} entr${plan.cron.length === 1 ? 'y' : 'ies'} (UTC), scheduled once this release is live`);
          for (const entry of plan.cron) logged.detail(`${entry.schedule}  ${entry.command}${entry.maintenance ? '  (maintenance: not run)' : ''}`);
        }
        const image = `${this.deps.settings.instance}/${app.name}:v${release.version}`;
        if (this.builds.full) {
          logged.step(`Waiting for a build slot: ${this.builds.limit} build(s) of other apps running (PILOT_BUILD_CONCURRENCY)`);
        }
        await this.builds.run(() =>
          buildReleaseImage(
            this.deps,
            {
              app: app.name,
              buildDir: buildDir as string,
              plan,
              tag: image,
              timeoutSeconds: this.deps.settings.buildTimeoutSeconds,
              limits: { cpus: this.deps.settings.buildCpus, memoryBytes: this.deps.settings.buildMemoryBytes },
              buildVars: Object.fromEntries(buildKeys.map((key) => [key, config[key] ?? ''])),
              maxCacheBytes: this.deps.settings.maxPushBytes,
            },
            logged,
          ),
        );
        const port = plan.port ?? (await this.deps.images.exposedPort(image)) ?? 5000;
        const built = {
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
        releases.update(release.id, built);
        // A deploy keeps the app's config: it changes nothing until it is live (see changeApp).
        await this.rollOut(app, { ...release, ...built }, this.deps.volumes.list(app.id), logged, () => undefined);
        logged.result(this.liveResult(app.name, plan.processes));
      });
    } finally {
      if (buildDir) await this.deps.workspaces.remove(buildDir);
    }
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
    for (const image of imagesToPrune(this.deps.releases.list(app.id), this.deps.settings.keepReleases)) {
      await this.deps.images.removeImage(image).catch((error: unknown) => this.deps.logger.warn({ err: error, image }, 'image not removed'));
    }
  }

  /** The app's URL; a worker-only app has none to visit (its name has no route, so no certificate either). */
  private liveResult(app: string, processes: Readonly<Record<string, string | null>>): string {
    return 'web' in processes ? appUrl(app, this.deps.settings) : `${app} is live (worker processes only: no URL)`;
  }
}
