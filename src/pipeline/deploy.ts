import type { Logger } from 'pino';
import type { AppStore, ConfigStore, ContainerEngine, FormationStore, ReleaseStore, SubmoduleFetcher, VolumeStore, Workspaces } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { otherSlot } from '../domain/types.js';
import { ConflictError, PilotError } from '../domain/errors.js';
import { canTransition } from '../domain/release-states.js';
import type { Config } from '../config.js';
import { detectBuildpack, isReadFile, type BuildPlan } from './detect.js';
import { buildReleaseImage } from './build.js';
import { RELEASE_LABEL, formationPlan, instanceLabels, networkName, processQuantities, releaseRuntime, type ReleaseRuntime } from './start.js';
import { ProcessCheckError, checkProcesses, startProcesses } from './processes.js';
import { runReleaseTask, tasksAfterSwitch, tasksBeforeStart } from './release-phase.js';
import { imagesToPrune, retireContainers } from './retire.js';
import { DeployOutput } from './output.js';
import { KeyedMutex, Semaphore } from './mutex.js';
import { appUrl } from './routes.js';
import type { RouteTable } from './switch.js';
import { fetchSubmodules, pushSubmodules } from './submodules.js';

/** The part of the configuration a deploy reads. */
export type DeploySettings = Pick<
  Config,
  | 'instance' | 'domain' | 'tls' | 'httpPort' | 'httpsPort' | 'nodeImage' | 'staticImage'
  | 'healthTimeoutSeconds' | 'drainSeconds' | 'stopTimeoutSeconds' | 'buildTimeoutSeconds'
  | 'buildConcurrency' | 'buildCpus' | 'buildMemoryBytes' | 'keepReleases' | 'maxPushBytes' | 'appMemoryBytes' | 'appCpus'
  | 'cronAllowSeconds' | 'buildAllowedImages' | 'appPids'
>;

export interface DeployerDeps {
  readonly settings: DeploySettings;
  readonly apps: AppStore;
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly formation: FormationStore;
  readonly volumes: VolumeStore;
  readonly engine: ContainerEngine;
  readonly workspaces: Workspaces;
  readonly submodules: SubmoduleFetcher;
  readonly routes: RouteTable;
  readonly renderDockerfile: (buildpack: string, context: object) => string;
  readonly buildpackDir: (buildpack: string) => string;
  /** The commit a branch of an app's repository points at now. */
  readonly branchHead: (app: string, branch: string) => Promise<string | undefined>;
  /** Told once a release of the app went live (deploy, config change, rollback): the cron schedule follows it. */
  readonly onLive: (app: App) => void;
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

export interface ImageReleaseRequest {
  readonly app: App;
  readonly kind: 'config' | 'rollback';
  /** The release whose image runs. */
  readonly from: Release;
  readonly config: Readonly<Record<string, string>>;
  /** Which of `config` are build vars once the release is live (default: the app's build vars now). */
  readonly buildKeys?: readonly string[];
}

export interface ImageReleaseResult {
  readonly release: Release;
  readonly live: boolean;
}

const ZERO_SHA = /^0+$/;
/** A process without HTTP passes its check when it still runs this long after starting. */
export const WORKER_SETTLE_SECONDS = 3;

/**
 * The deploy story: receive → detect → build → start → check → switch → retire.
 * Anything failing before the switch removes the new container and leaves the live release
 * serving; the old container is retired only after the switch, and only after it drained.
 */
export class Deployer {
  private readonly appLocks = new KeyedMutex();
  private readonly builds: Semaphore;
  private readonly retirements = new Set<Promise<void>>();
  /** Per app, the retirement under way: its containers hold the slot the next release starts in. */
  private readonly retiring = new Map<string, { version: number; done: Promise<void> }>();
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

  /** Retires a release's containers after the drain, in the background (also after a restart). */
  retire(app: App, release: Release): void {
    this.retireInBackground(app, release);
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
      const buildKeys = request.buildKeys ?? this.deps.configVars.buildKeys(app.id);
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
      const live = await this.attempt(app, release, write, async (logged, started) => {
        logged.step(request.kind === 'rollback' ? `Rolling back to v${from.version} as v${release.version}` : `Applying config as v${release.version}`);
        const runnable = { ...release, ...changes, buildpack: from.buildpack, image: from.image as string, port: from.port as number };
        await this.rollOut(app, runnable, this.deps.releases.live(app.id), logged, started);
        this.deps.configVars.replace(app.id, request.config, buildKeys);
        logged.result(this.liveResult(app.name, changes.processes));
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
    const config = this.deps.configVars.get(app.id);
    const buildKeys = this.deps.configVars.buildKeys(app.id);
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: push.newSha, config, buildKeys });
    let buildDir: string | undefined;
    try {
      return await this.attempt(app, release, write, async (logged, started) => {
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
        const port = plan.port ?? (await this.deps.engine.exposedPort(image)) ?? 5000;
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
        await this.rollOut(app, { ...release, ...built }, releases.live(app.id), logged, started);
        logged.result(this.liveResult(app.name, plan.processes));
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
    const newContainers: string[] = [];
    try {
      await steps(logged, (id) => newContainers.push(id));
      return true;
    } catch (error) {
      const reason = describeFailure(error, this.deps.logger);
      // Pilot stopping may have failed it already, with its own reason: failed is final.
      const status = releases.get(release.id)?.status;
      if (status && canTransition(status, 'failed')) releases.transition(release.id, 'failed', { failureReason: reason });
      logged.error(reason);
      const failed = error instanceof ProcessCheckError ? error.containerId : newContainers[0];
      if (failed) await this.showLastLogs(failed, logged);
      for (const id of newContainers) await this.deps.engine.removeContainer(id).catch(() => undefined);
      // A failed release is never rolled back to: its image goes now, not at the next success.
      await this.pruneImages(app);
      logged.error(previous ? `v${previous.version} is still serving` : `nothing was serving before; ${app.name} has no live release`);
      return false;
    }
  }

  /** release phase → start → check → switch → retire → postdeploy, for a release whose image exists. */
  private async rollOut(
    app: App,
    release: Release & { image: string; port: number },
    previous: Release | undefined,
    output: DeployOutput,
    started: (containerId: string) => void,
  ): Promise<void> {
    const { engine, releases, settings } = this.deps;
    const slot = otherSlot(previous?.slot ?? null);
    const runtime = releaseRuntime(app, release, settings, this.deps.volumes.list(app.id));
    await engine.ensureNetwork(networkName(settings.instance, app.name), instanceLabels(settings.instance, app.name));
    for (const task of tasksBeforeStart(release)) await runReleaseTask(engine, runtime, task, output, settings.buildTimeoutSeconds);
    // The release before the live one may still drain in the free slot: let its requests finish.
    const draining = this.retiring.get(app.name);
    if (draining) {
      output.step(`Waiting for v${draining.version} to finish draining`);
      await draining.done;
    }
    output.step(`Releasing v${release.version}`);
    releases.transition(release.id, 'starting', { slot });
    // Containers left in the free slot (an interrupted deploy, an old scale) are not serving: replace them.
    for (const leftover of await engine.listContainers({ ...instanceLabels(settings.instance, app.name), 'pilot.slot': slot })) {
      await engine.removeContainer(leftover.id);
    }
    const quantities = processQuantities(release, this.deps.formation.get(app.id));
    const plans = formationPlan(runtime, slot, release.processes, quantities);
    reportIdleTypes(app.name, quantities, output);
    const processes = await startProcesses(engine, plans, started);
    releases.transition(release.id, 'checking', { containerId: processes[0]?.containerId });
    const checked = await checkProcesses(engine, processes, { ...release, healthTimeoutSeconds: settings.healthTimeoutSeconds, settleSeconds: WORKER_SETTLE_SECONDS });
    if (checked.health) output.step(`Health check passed (${checked.health.attempts} attempts, ${(checked.health.elapsedMs / 1000).toFixed(1)} s)`);
    const others = processes.filter((process) => process.type !== 'web');
    if (others.length > 0) output.step(`${others.map((process) => `${process.type}.${process.index}`).join(', ')} running after ${WORKER_SETTLE_SECONDS} s`);
    await Promise.all(processes.map((process) => engine.keepRunning(process.containerId)));

    const candidate = { ...release, slot, containerId: processes[0]?.containerId ?? null, status: 'live' as const };
    const upstreams = checked.processes.flatMap((process) => (process.upstream ? [process.upstream] : []));
    await this.deps.routes.switchTo({ appId: app.id, release: candidate, upstreams }, () => releases.promote(release.id));
    this.announceLive(app);
    output.step(upstreams.length > 0 ? `Switched traffic to v${release.version}` : `v${release.version} is live (no web process: no route)`);
    if (previous) {
      output.step(`Retiring v${previous.version} after ${settings.drainSeconds} s of drain`);
      this.retireInBackground(app, previous);
    } else {
      void this.pruneImages(app);
    }
    await this.runPostdeployTasks(runtime, release, previous === undefined, output);
  }

  /** The release already serves: a failing postdeploy task is reported, and never fails the release. */
  private async runPostdeployTasks(runtime: ReleaseRuntime, release: Release, firstLiveRelease: boolean, output: DeployOutput): Promise<void> {
    for (const task of tasksAfterSwitch(release, firstLiveRelease)) {
      try {
        await runReleaseTask(this.deps.engine, runtime, task, output, this.deps.settings.buildTimeoutSeconds);
      } catch (error) {
        output.error(`${describeFailure(error, this.deps.logger)}; v${release.version} stays live (this script runs after the switch)`);
      }
    }
  }

  /** The release is live whatever a listener does: its failure is logged, never the deploy's. */
  private announceLive(app: App): void {
    try {
      this.deps.onLive(app);
    } catch (error) {
      this.deps.logger.error({ err: error, app: app.name }, 'a listener of a release going live failed');
    }
  }

  /** Forgets the framework caches kept for an app's next build (the app is being destroyed). */
  removeBuildCache(app: string): Promise<void> {
    return this.deps.workspaces.removeBuildCache(app);
  }

  private async detect(app: App, buildDir: string): Promise<BuildPlan> {
    const facts = await this.deps.workspaces.facts(buildDir, isReadFile);
    return detectBuildpack(facts, this.deps.settings, { appDir: app.buildDir ?? '', configVars: this.deps.configVars.get(app.id) });
  }

  private retireInBackground(app: App, previous: Release): void {
    const labels = { ...instanceLabels(this.deps.settings.instance, app.name), [RELEASE_LABEL]: String(previous.version) };
    const retirement = retireContainers(this.deps.engine, labels, this.deps.settings)
      .then(() => this.pruneImages(app))
      .catch((error: unknown) => this.deps.logger.error({ err: error, app: app.name, release: previous.version }, 'retiring failed'))
      .finally(() => {
        this.retirements.delete(retirement);
        if (this.retiring.get(app.name)?.done === retirement) this.retiring.delete(app.name);
      });
    this.retirements.add(retirement);
    this.retiring.set(app.name, { version: previous.version, done: retirement });
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

  /** The app's URL; a worker-only app has none to visit (its name has no route, so no certificate either). */
  private liveResult(app: string, processes: Readonly<Record<string, string | null>>): string {
    return 'web' in processes ? appUrl(app, this.deps.settings) : `${app} is live (worker processes only: no URL)`;
  }
}

/** Says which process types do not start: at 0, as every type but web is until scaled. */
function reportIdleTypes(app: string, quantities: Readonly<Record<string, number>>, output: DeployOutput): void {
  const idle = Object.keys(quantities).filter((type) => quantities[type] === 0).sort();
  const first = idle[0];
  if (first === undefined) return;
  const one = idle.length === 1;
  const how = `\`pilot ps:scale ${first}=1 -a ${app}\` or app.json formation`;
  if (Object.values(quantities).every((quantity) => quantity === 0)) {
    output.step(`No process runs: ${idle.join(', ')} ${one ? 'is' : 'are'} at 0; scale ${one ? 'it' : 'them'} with ${how}`);
  } else {
    output.step(`Not started: ${idle.join(', ')} at 0 (${how} runs ${one ? 'it' : 'them'})`);
  }
}

function describeFailure(error: unknown, logger: Logger): string {
  if (error instanceof PilotError) return error.message;
  logger.error({ err: error }, 'deploy failed with an internal error');
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}
