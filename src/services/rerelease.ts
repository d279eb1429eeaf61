import type { ConfigStore, ReleaseStore } from '../domain/ports.js';
import type { App, Release } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';
import type { Deployer } from '../pipeline/deploy.js';

export interface RereleaseDeps {
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly deployer: Deployer;
}

/**
 * After a change to how an app runs (volumes, limits): a new release of the live image,
 * blue/green, so the change applies at once and fails safely. If it does not go live,
 * `undo` puts the change back and the error says what still serves. Null when nothing runs.
 * `description` says what changed ("Mount a volume at /data").
 */
export async function rereleaseOrUndo(deps: RereleaseDeps, app: App, description: string, undo: () => void): Promise<Release | null> {
  const live = deps.releases.live(app.id);
  if (!live) return null;
  const result = await deps.deployer.releaseFromImage({ app, kind: 'config', from: live, config: deps.configVars.get(app.id), description }).catch((error: unknown) => {
    undo();
    throw error;
  });
  if (!result.live) {
    undo();
    throw new DeployError('PILOT_RELEASE_FAILED', `v${result.release.version} failed: ${result.release.failureReason ?? 'unknown reason'}; v${live.version} is still serving`);
  }
  return result.release;
}
