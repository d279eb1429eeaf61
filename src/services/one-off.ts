import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { AttachedProcess, ContainerEngine, ReleaseStore, VolumeStore } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { instanceLabels, networkName, oneOffPlan, releaseRuntime, shellCommand } from '../pipeline/start.js';

export interface OneOffDeps {
  readonly releases: ReleaseStore;
  readonly volumes: VolumeStore;
  readonly engine: ContainerEngine;
  readonly settings: { readonly instance: string; readonly appMemoryBytes: number; readonly appCpus: number; readonly appPids: number };
}

/** `pilot run`: a command in a new container of the live release (its image, config and volumes), removed afterwards. */
export class OneOffCommands {
  constructor(private readonly deps: OneOffDeps) {}

  async start(app: App, command: readonly string[], interactive: boolean, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    if (command.length === 0 || command.some((part) => typeof part !== 'string')) throw new ValidationError('give the command to run, e.g. `pilot run -- node -v`');
    const live = this.deps.releases.live(app.id);
    if (!live?.image || !live.port) throw new ConflictError(`${app.name} has no live release to run a command in: push to deploy it first`);
    const { settings, engine } = this.deps;
    await engine.ensureNetwork(networkName(settings.instance, app.name), instanceLabels(settings.instance, app.name));
    const plan = oneOffPlan(
      releaseRuntime(app, { ...live, image: live.image, port: live.port }, settings, this.deps.volumes.list(app.id)),
      'run',
      randomBytes(4).toString('hex'),
      [...command],
      interactive,
    );
    return engine.runAttached(plan, onOutput);
  }

  /**
   * A cron entry's command in a new container of `release`, its output as text (stdout and
   * stderr as they come). A command that names a Procfile type runs that type's command, as Dokku does.
   */
  async startScheduled(app: App, release: Release, command: string, onOutput: (text: string) => void): Promise<AttachedProcess> {
    if (!release.image || !release.port) throw new ConflictError(`v${release.version} of ${app.name} has no image to run`);
    const { settings, engine } = this.deps;
    await engine.ensureNetwork(networkName(settings.instance, app.name), instanceLabels(settings.instance, app.name));
    const runtime = releaseRuntime(app, { ...release, image: release.image, port: release.port }, settings, this.deps.volumes.list(app.id));
    const plan = oneOffPlan(runtime, 'cron', randomBytes(4).toString('hex'), shellCommand((Object.hasOwn(release.processes, command) ? release.processes[command] : null) ?? command));
    // One decoder per stream: a character split across chunks is not garbled.
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    return engine.runAttached(plan, (stream, chunk) => onOutput(decoders[stream].write(chunk)));
  }
}
