import os from 'node:os';
import type { AppStore, ConfigStore } from '../domain/ports.js';
import type { App, Release, ReleaseAuthor } from '../domain/types.js';
import { ValidationError } from '../domain/errors.js';
import type { LimitsBody, LimitsView } from '../domain/shapes.js';
import { parseMemory } from '../config.js';
import { ADDABLE_CAPABILITIES, appLimits } from '../pipeline/start.js';
import type { Deployer } from '../pipeline/deploy.js';
import { limitsDescription } from '../domain/release-descriptions.js';

const MIN_MEMORY_BYTES = 32 * 1024 * 1024;

export interface LimitsDeps {
  readonly apps: AppStore;
  readonly configVars: ConfigStore;
  readonly deployer: Pick<Deployer, 'changeApp'>;
  readonly defaults: { readonly appMemoryBytes: number; readonly appCpus: number };
}

/** Memory and CPU limits per app; a change makes a new release so it applies at once. */
export class LimitsService {
  constructor(private readonly deps: LimitsDeps) {}

  show(app: App): LimitsView {
    return { ...appLimits(app, this.deps.defaults), custom: { memory: app.memoryBytes !== null, cpus: app.cpus !== null }, capAdd: [...app.capAdd] };
  }

  /**
   * `memory` as Docker writes it ("256m"), null back to the default; `cpus` a number of cores,
   * null likewise; `capAdd` the capabilities to give back (all of them: [] or null for none).
   */
  async set(app: App, changes: LimitsBody, madeBy: ReleaseAuthor): Promise<{ limits: LimitsView; release: Release | null }> {
    const memoryBytes = changes.memory === undefined || changes.memory === null ? changes.memory : validMemory(changes.memory);
    const cpus = changes.cpus === undefined || changes.cpus === null ? changes.cpus : validCpus(changes.cpus);
    const capAdd = changes.capAdd === undefined ? undefined : validCapabilities(changes.capAdd ?? []);
    let updated = app;
    // Decided under the app's lock from its limits then; written only once the new release is live.
    const release = await this.deps.deployer.changeApp(app, (live) => {
      const current = this.deps.apps.findByName(app.name) ?? app;
      const next = {
        memoryBytes: memoryBytes === undefined ? current.memoryBytes : memoryBytes,
        cpus: cpus === undefined ? current.cpus : cpus,
        capAdd: capAdd ?? current.capAdd,
      };
      updated = { ...current, ...next };
      const commit = (): void => {
        this.deps.apps.setLimits(app.id, { memoryBytes: next.memoryBytes, cpus: next.cpus });
        this.deps.apps.setCapAdd(app.id, next.capAdd);
      };
      if (!live) return { commit };
      const description = limitsDescription(changes);
      return { commit, release: { kind: 'config', from: live, config: this.deps.configVars.get(app.id), buildKeys: this.deps.configVars.buildKeys(app.id), limits: next, description, madeBy } };
    });
    return { limits: this.show(updated), release };
  }
}

function validMemory(text: string): number {
  const bytes = parseMemory(text);
  if (bytes === undefined || bytes < MIN_MEMORY_BYTES || bytes > os.totalmem()) {
    throw new ValidationError(`memory "${text.slice(0, 20)}" must be a size from 32m to this server's ${Math.floor(os.totalmem() / 2 ** 20)}m (e.g. 256m or 1g)`);
  }
  return bytes;
}

/** `net_raw` and `CAP_NET_RAW` are NET_RAW; only what Docker gives by default may be given back. */
function validCapabilities(requested: readonly string[]): string[] {
  const names = [...new Set(requested.map((name) => name.trim().toUpperCase().replace(/^CAP_/, '')))].sort();
  const refused = names.filter((name) => !ADDABLE_CAPABILITIES.includes(name));
  if (refused.length > 0) {
    throw new ValidationError(`cannot give an app ${refused.map((name) => JSON.stringify(name.slice(0, 30))).join(', ')}: the capabilities an app may get back are ${ADDABLE_CAPABILITIES.join(', ')} (Docker's defaults), never more`);
  }
  return names;
}

function validCpus(cpus: number): number {
  if (!Number.isFinite(cpus) || cpus < 0.05 || cpus > os.cpus().length) {
    throw new ValidationError(`cpus ${cpus} must be from 0.05 to this server's ${os.cpus().length} cores (e.g. 0.5)`);
  }
  return cpus;
}
