import { randomBytes } from 'node:crypto';
import type { AttachedProcess, ContainerEngine, ReleaseStore, VolumeStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { instanceLabels, networkName, oneOffPlan, releaseRuntime } from '../pipeline/start.js';

export interface OneOffDeps {
  readonly releases: ReleaseStore;
  readonly volumes: VolumeStore;
  readonly engine: ContainerEngine;
  readonly settings: { readonly instance: string; readonly appMemoryBytes: number; readonly appCpus: number };
}

/** `pilot run`: a command in a new container of the live release (its image, config and volumes), removed afterwards. */
export class OneOffCommands {
  constructor(private readonly deps: OneOffDeps) {}

  async start(app: App, command: readonly string[], interactive: boolean, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    if (command.length === 0 || command.some((part) => typeof part !== 'string')) throw new ValidationError('give the command to run, e.g. `pilot run -- node -v`');
    const live = this.deps.releases.live(app.id);
    if (!live?.image || !live.port) throw new ConflictError(`${app.name} has no live release to run a command in: push to deploy it first`);
    const { settings, engine } = this.deps;
    await engine.ensureNetwork(networkName(settings.instance), instanceLabels(settings.instance));
    const plan = oneOffPlan(
      releaseRuntime(app, { ...live, image: live.image, port: live.port }, settings, this.deps.volumes.list(app.id)),
      'run',
      randomBytes(4).toString('hex'),
      [...command],
      interactive,
    );
    return engine.runAttached(plan, onOutput);
  }
}
