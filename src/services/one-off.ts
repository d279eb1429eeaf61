import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { AppRuntime, AttachedProcess, ReleaseStore, VolumeStore } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { releaseRuntime, shellCommand } from '../pipeline/start.js';

export interface OneOffDeps {
  readonly releases: ReleaseStore;
  readonly volumes: VolumeStore;
  readonly runtime: Pick<AppRuntime, 'runOneOff'>;
  readonly settings: { readonly instance: string; readonly appMemoryBytes: number; readonly appCpus: number; readonly appPids: number };
}

export type OneOffInput = 'tty' | 'pipe' | 'none';

/** `pilot run`: a command in a new container of the live release (its image, config and volumes), removed afterwards. */
export class OneOffCommands {
  constructor(private readonly deps: OneOffDeps) {}

  /** `input`: the caller's terminal (a TTY), its piped stdin (ended by the caller), or none. */
  async start(app: App, command: readonly string[], input: OneOffInput, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    if (command.length === 0 || command.some((part) => typeof part !== 'string')) throw new ValidationError('give the command to run, e.g. `pilot run -- node -v`');
    const live = this.deps.releases.live(app.id);
    if (!live?.image || !live.port) throw new ConflictError(`${app.name} has no live release to run a command in: push to deploy it first`);
    const runtime = releaseRuntime(app, { ...live, image: live.image, port: live.port }, this.deps.settings, this.deps.volumes.list(app.id));
    return this.deps.runtime.runOneOff(runtime, { kind: 'run', suffix: randomBytes(4).toString('hex'), command, input }, onOutput);
  }

  /**
   * A cron entry's command in a new container of `release`, its output as text (stdout and
   * stderr as they come). A command that names a Procfile type runs that type's command, as Dokku does.
   */
  async startScheduled(app: App, release: Release, command: string, onOutput: (text: string) => void): Promise<AttachedProcess> {
    if (!release.image || !release.port) throw new ConflictError(`v${release.version} of ${app.name} has no image to run`);
    const runtime = releaseRuntime(app, { ...release, image: release.image, port: release.port }, this.deps.settings, this.deps.volumes.list(app.id));
    const shell = shellCommand((Object.hasOwn(release.processes, command) ? release.processes[command] : null) ?? command);
    // One decoder per stream: a character split across chunks is not garbled.
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const run = { kind: 'cron' as const, suffix: randomBytes(4).toString('hex'), command: shell, input: 'none' as const };
    return this.deps.runtime.runOneOff(runtime, run, (stream, chunk) => onOutput(decoders[stream].write(chunk)));
  }
}
