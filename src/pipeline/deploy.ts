import type { Logger } from 'pino';
import type { AppStore, ConfigStore, ContainerEngine, ReleaseStore, Workspaces } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { otherSlot } from '../domain/types.js';
import { ConflictError, DeployError, PilotError } from '../domain/errors.js';
import type { Config } from '../config.js';
import { DETECTION_FILES, READ_FILES, detectBuildpack, type BuildPlan } from './detect.js';
import { buildReleaseImage } from './build.js';
import { containerPlan, instanceLabels, networkName } from './start.js';
import { DEFAULT_HEALTH_TIMING, waitUntilHealthy } from './healthcheck.js';
import { imagesToPrune, retireContainer } from './retire.js';
import { DeployOutput } from './output.js';
import { KeyedMutex, Semaphore } from './mutex.js';
import { appUrl } from './routes.js';
import type { RouteTable } from './switch.js';

/** The part of the configuration a deploy reads. */
export type DeploySettings = Pick<
  Config,
  | 'instance' | 'domain' | 'tls' | 'httpPort' | 'httpsPort' | 'nodeImage' | 'staticImage'
  | 'healthTimeoutSeconds' | 'drainSeconds' | 'stopTimeoutSeconds' | 'buildTimeoutSeconds'
  | 'buildConcurrency' | 'keepReleases' | 'maxPushBytes' | 'appMemoryBytes' | 'appCpus'
>;

export interface DeployerDeps {
  readonly settings: DeploySettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly engine: ContainerEngine;
  readonly workspaces: Workspaces;
  readonly routes: RouteTable;
  readonly renderDockerfile: (buildpack: string, context: object) => string;
  readonly buildpackDir: (buildpack: string) => string;
  /** The commit a branch of an app's repository points at now. */
  readonly branchHead: (app: string, branch: string) => Promise<string | undefined>;
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
}

export interface ImageReleaseRequest {
  readonly app: App;
  readonly kind: 'config' | 'rollback';
  /** The release whose image runs. */
  readonly from: Release;
  readonly config: Readonly<Record<string, string>>;
}

export interface ImageReleaseResult {
  readonly release: Release;
  readonly live: boolean;
}

const ZERO_SHA = /^0+$/;

/**
 * The deploy story: receive → detect → build → start → check → switch → retire.
 * Anything failing before the switch removes the new container and leaves the live release
 * serving; the old container is retired only after the switch, and only after it drained.
 */
export class Deployer {
  private readonly appLocks = new KeyedMutex();
  private readonly builds: Semaphore;
  private readonly retirements = new Set<Promise<void>>();
  /**
   * Branch moves git has yet to write: a deploy that went live releases the app's lock when
   * its hook answers, a moment before git updates the ref. The next push compares against this.
   */
  private readonly landing = new Map<string, { readonly from: string; readonly to: string }>();

  constructor(private readonly deps: DeployerDeps) {
    this.builds = new Semaphore(deps.settings.buildConcurrency);
  }

  /** Deploys a push; every line for the pusher goes to `write`. Resolves whether it went live. */
  async deployPush(push: PushRequest, write: (line: string) => void): Promise<boolean> {
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

  /** Waits for retirements in progress (used when Pilot stops). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.retirements]);
  }

  /**
   * A release from an existing image with a new config: a config change (the live release's
   * image) or a rollback (an old release's image and config). Blue/green like a deploy; the
   * config vars are recorded only once the release is live, so a failure changes nothing.
   */
  async releaseFromImage(request: ImageReleaseRequest, write: (line: string) => void = () => undefined): Promise<ImageReleaseResult> {
    const { app, from } = request;
    return this.appLocks.run(app.name, async () => {
      if (!from.image || !from.port) throw new ConflictError(`v${from.version} has no image to run (its build did not finish)`);
      if (!(await this.deps.engine.imageExists(from.image))) {
        throw new ConflictError(
          `the image of v${from.version} was pruned (images are kept for the last ${this.deps.settings.keepReleases} releases): ` +
            'push that commit again to rebuild it',
        );
      }
      const release = this.deps.releases.create({ appId: app.id, kind: request.kind, gitSha: from.gitSha, config: request.config });
      const changes = { buildpack: from.buildpack ?? undefined, image: from.image, port: from.port, healthPath: from.healthPath };
      this.deps.releases.update(release.id, changes);
      const live = await this.attempt(app, release, write, async (logged, started) => {
        logged.step(request.kind === 'rollback' ? `Rolling back to v${from.version} as v${release.version}` : `Applying config as v${release.version}`);
        const runnable = { ...release, image: from.image as string, port: from.port as number, healthPath: from.healthPath };
        await this.rollOut(app, runnable, this.deps.releases.live(app.id), logged, started);
        this.deps.configVars.replace(app.id, request.config);
        logged.result(this.appUrl(app.name));
      });
      return { release: this.deps.releases.get(release.id) as Release, live };
    });
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
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: push.newSha, config: this.deps.configVars.get(app.id) });
    let buildDir: string | undefined;
    try {
      return await this.attempt(app, release, write, async (logged, started) => {
        logged.step(`Receiving ${push.newSha.slice(0, 7)} for ${app.name}`);
        buildDir = await this.deps.workspaces.unpack(push.source, this.deps.settings.maxPushBytes);
        const plan = await this.detect(buildDir);
        logged.step(`Detected ${plan.description}`);
        const image = `${this.deps.settings.instance}/${app.name}:v${release.version}`;
        await this.builds.run(() =>
          buildReleaseImage(
            this.deps,
            {
              buildDir: buildDir as string,
              plan,
              tag: image,
              labels: { ...instanceLabels(this.deps.settings.instance, app.name), 'pilot.release': String(release.version) },
              timeoutSeconds: this.deps.settings.buildTimeoutSeconds,
            },
            logged,
          ),
        );
        const port = plan.port ?? (await this.deps.engine.exposedPort(image)) ?? 5000;
        releases.update(release.id, { buildpack: plan.buildpack, image, port, healthPath: plan.healthPath });
        await this.rollOut(app, { ...release, image, port, healthPath: plan.healthPath }, releases.live(app.id), logged, started);
        logged.result(this.appUrl(app.name));
      });
    } finally {
      if (buildDir) await this.deps.workspaces.remove(buildDir);
    }
  }

  /**
   * Runs the steps of a release, logging every line to the release and to `write`. On failure
   * the release is marked failed, its container (if one started) shows its last logs and is
   * removed, and the output says what still serves.
   */
  private async attempt(
    app: App,
    release: Release,
    write: (line: string) => void,
    steps: (logged: DeployOutput, started: (containerId: string) => void) => Promise<void>,
  ): Promise<boolean> {
    const { releases } = this.deps;
    const previous = releases.live(app.id);
    // Everything the pusher reads is also the release's log.
    const logged = new DeployOutput((line) => {
      releases.appendLog(release.id, `${line}\n`);
      write(line);
    });
    let newContainer: string | undefined;
    try {
      await steps(logged, (id) => (newContainer = id));
      return true;
    } catch (error) {
      const reason = describeFailure(error, this.deps.logger);
      releases.transition(release.id, 'failed', { failureReason: reason });
      logged.error(reason);
      if (newContainer) {
        await this.showLastLogs(newContainer, logged);
        await this.deps.engine.removeContainer(newContainer).catch(() => undefined);
      }
      logged.error(previous ? `v${previous.version} is still serving` : `nothing was serving before; ${app.name} has no live release`);
      return false;
    }
  }

  /** start → check → switch → retire, for a release whose image exists. */
  private async rollOut(
    app: App,
    release: Release & { image: string; port: number },
    previous: Release | undefined,
    output: DeployOutput,
    started: (containerId: string) => void,
  ): Promise<void> {
    const { engine, releases, settings } = this.deps;
    const slot = otherSlot(previous?.slot ?? null);
    output.step(`Releasing v${release.version}`);
    releases.transition(release.id, 'starting', { slot });
    const plan = containerPlan({
      instance: settings.instance,
      app: app.name,
      version: release.version,
      slot,
      image: release.image,
      config: release.config,
      port: release.port,
      memoryBytes: settings.appMemoryBytes,
      cpus: settings.appCpus,
    });
    // A container left in the free slot by an interrupted deploy is not serving: replace it.
    await engine.removeContainer(plan.name);
    await engine.ensureNetwork(networkName(settings.instance), instanceLabels(settings.instance));
    const containerId = await engine.startContainer(plan);
    started(containerId);
    releases.transition(release.id, 'checking', { containerId });

    const ip = (await engine.inspectContainer(containerId))?.ip;
    if (!ip) throw new DeployError('PILOT_START_FAILED', 'the new container got no network address');
    const health = await waitUntilHealthy(
      {
        host: ip,
        port: release.port,
        path: release.healthPath,
        status: async () => {
          const state = await engine.inspectContainer(containerId);
          return { running: state?.running ?? false, exitCode: state?.exitCode ?? -1 };
        },
      },
      { ...DEFAULT_HEALTH_TIMING, timeoutMs: settings.healthTimeoutSeconds * 1000 },
    );
    output.step(`Health check passed (${health.attempts} attempts, ${(health.elapsedMs / 1000).toFixed(1)} s)`);
    await engine.keepRunning(containerId);

    const candidate = { ...release, slot, containerId, status: 'live' as const };
    await this.deps.routes.switchTo({ appId: app.id, release: candidate, upstream: `${ip}:${release.port}` }, () =>
      releases.promote(release.id),
    );
    output.step(`Switched traffic to v${release.version}`);
    if (previous?.containerId) {
      output.step(`Retiring v${previous.version} after ${settings.drainSeconds} s of drain`);
      this.retireInBackground(app, previous);
    } else {
      void this.pruneImages(app);
    }
  }

  private async detect(buildDir: string): Promise<BuildPlan> {
    const facts = await this.deps.workspaces.facts(buildDir, DETECTION_FILES, READ_FILES);
    return detectBuildpack(facts, this.deps.settings);
  }

  private retireInBackground(app: App, previous: Release): void {
    const containerId = previous.containerId as string;
    const retirement = retireContainer(this.deps.engine, containerId, this.deps.settings)
      .then(() => this.pruneImages(app))
      .catch((error: unknown) => this.deps.logger.error({ err: error, app: app.name, release: previous.version }, 'retiring failed'))
      .finally(() => this.retirements.delete(retirement));
    this.retirements.add(retirement);
  }

  private async pruneImages(app: App): Promise<void> {
    for (const image of imagesToPrune(this.deps.releases.list(app.id), this.deps.settings.keepReleases)) {
      await this.deps.engine.removeImage(image).catch((error: unknown) => this.deps.logger.warn({ err: error, image }, 'image not removed'));
    }
  }

  private async showLastLogs(containerId: string, output: DeployOutput): Promise<void> {
    const logs = await this.deps.engine.containerLogs(containerId, 20).catch(() => '');
    if (logs.trim() === '') return;
    output.error('last lines of the app log:');
    output.detail(logs.trimEnd());
  }

  private appUrl(app: string): string {
    return appUrl(app, this.deps.settings);
  }
}

function describeFailure(error: unknown, logger: Logger): string {
  if (error instanceof PilotError) return error.message;
  logger.error({ err: error }, 'deploy failed with an internal error');
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}
