import fs from 'node:fs';
import path from 'node:path';

/**
 * The classic builder has no pids option, but it takes a cgroup parent for the containers of
 * a build's RUN steps (`cgroupparent`). Pilot makes one per build with `pids.max` set, so a fork
 * bomb in a Dockerfile stops at PILOT_BUILD_PIDS instead of taking the host. This needs the
 * engine's cgroupfs driver and Pilot on the engine's host, writing its cgroup file system; where
 * it cannot, the build runs without the cap and says so.
 */
export interface BuildCgroup {
  /** The `cgroupparent` build option; undefined: no cap could be set. */
  readonly parent: string | undefined;
  /** Why there is no cap, for the build output. */
  readonly unavailable: string | undefined;
  /** Removes the cgroup once the build's containers are gone. */
  remove(): void;
}

export function createBuildCgroup(name: string, pidsMax: number, driver: string, root = '/sys/fs/cgroup'): BuildCgroup {
  const none = (why: string): BuildCgroup => ({ parent: undefined, unavailable: why, remove: () => undefined });
  if (driver !== 'cgroupfs') return none(`the engine's ${driver} cgroup driver takes no cgroup of Pilot's making (set TasksMax on dockerd's slice instead)`);
  const unified = fs.existsSync(path.join(root, 'cgroup.controllers'));
  const pidsDir = unified ? path.join(root, name) : path.join(root, 'pids', name);
  try {
    fs.mkdirSync(pidsDir);
    fs.writeFileSync(path.join(pidsDir, 'pids.max'), String(pidsMax));
  } catch (error) {
    removeQuietly(pidsDir);
    return none(`Pilot cannot write ${path.dirname(pidsDir)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return {
    parent: `/${name}`,
    unavailable: undefined,
    remove() {
      // The engine made the same directory under every other controller (cgroup v1): all go.
      const dirs = unified ? [pidsDir] : controllerDirs(root, name);
      for (const dir of dirs) removeQuietly(dir);
    },
  };
}

function controllerDirs(root: string, name: string): string[] {
  try {
    return fs.readdirSync(root).map((controller) => path.join(root, controller, name)).filter((dir) => fs.existsSync(dir));
  } catch {
    return [];
  }
}

/** rmdir: a cgroup goes once it holds no process and no child; one still busy is left to the next build's clean-up of its own. */
function removeQuietly(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // Already gone, or a container of it still exits.
  }
}
