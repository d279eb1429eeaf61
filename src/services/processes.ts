import type { ContainerEngine, ReleaseStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import { ConflictError } from '../domain/errors.js';
import type { Deployer } from '../pipeline/deploy.js';
import type { RouteTable } from '../pipeline/switch.js';

export interface ProcessStatus {
  readonly type: 'web';
  readonly release: number;
  readonly container: string;
  readonly state: string;
  readonly startedAt: string | null;
  readonly uptimeSeconds: number | null;
  readonly restarts: number;
}

export interface ProcessDeps {
  readonly releases: ReleaseStore;
  readonly engine: ContainerEngine;
  readonly deployer: Deployer;
  readonly routes: RouteTable;
  readonly stopTimeoutSeconds: number;
}

export type ProcessAction = 'restart' | 'stop' | 'start';

/** The app's containers as Docker sees them, and restart/stop/start of the live release. */
export class ProcessControl {
  constructor(private readonly deps: ProcessDeps) {}

  async list(app: App): Promise<ProcessStatus[]> {
    const live = this.deps.releases.live(app.id);
    if (!live?.containerId) return [];
    const container = await this.deps.engine.inspectContainer(live.containerId);
    const startedAt = container?.running ? (container.startedAt ?? null) : null;
    return [
      {
        type: 'web',
        release: live.version,
        container: container?.name ?? live.containerId.slice(0, 12),
        state: container?.status ?? 'missing',
        startedAt,
        uptimeSeconds: startedAt ? Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)) : null,
        restarts: container?.restartCount ?? 0,
      },
    ];
  }

  /** Acts on the live container, then reloads the routes: a started container may have a new address. */
  async act(app: App, action: ProcessAction): Promise<ProcessStatus[]> {
    return this.deps.deployer.withAppLock(app.name, async () => {
      const live = this.deps.releases.live(app.id);
      if (!live?.containerId) throw new ConflictError(`${app.name} has no live release yet: push to deploy it first`);
      const { engine, stopTimeoutSeconds } = this.deps;
      if (action === 'restart') await engine.restartContainer(live.containerId, stopTimeoutSeconds);
      if (action === 'stop') await engine.stopContainer(live.containerId, stopTimeoutSeconds);
      if (action === 'start') await engine.resumeContainer(live.containerId);
      await this.deps.routes.reload();
      return this.list(app);
    });
  }
}
