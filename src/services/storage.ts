import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AppRuntime, ConfigStore, VolumeStore } from '../domain/ports.js';
import type { App, Release, ReleaseAuthor, Volume } from '../domain/types.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { AppChange, Deployer } from '../pipeline/deploy.js';
import { mountDescription, unmountDescription } from '../domain/release-descriptions.js';

const MOUNT_PATH = /^\/[A-Za-z0-9._\-/]{1,200}$/;

/**
 * Directories of the system a volume must not cover, with everything under them: the kernel's
 * (/proc, /sys, /dev), the runtime's (/run), and the image's own programs and settings, which an
 * empty or another release's volume would replace (the container then fails at start, or runs
 * what the volume holds). /var/run and /var/lock are links into /run.
 */
const SYSTEM_PATHS = ['/proc', '/sys', '/dev', '/run', '/var/run', '/var/lock', '/boot', '/etc', '/bin', '/sbin', '/usr', '/lib', '/lib32', '/lib64', '/libx32'];

/** A mount path: absolute, normalized, no `..`, not `/` nor a system directory; returned without a trailing slash. */
export function validateMountPath(input: string): string {
  const shown = JSON.stringify(input.slice(0, 100));
  const trimmed = input.length > 1 ? input.replace(/\/+$/, '') : input;
  if (!MOUNT_PATH.test(trimmed) || trimmed.split('/').some((part) => part === '..' || part === '.') || path.posix.normalize(trimmed) !== trimmed) {
    throw new ValidationError(`invalid mount path ${shown}: use an absolute path inside the container, without .. (e.g. /app/uploads)`);
  }
  if (trimmed === '/') throw new ValidationError('cannot mount a volume at /: pick a directory such as /data');
  const system = SYSTEM_PATHS.find((dir) => trimmed === dir || trimmed.startsWith(`${dir}/`));
  if (system) {
    throw new ValidationError(`cannot mount a volume at ${trimmed}: ${system} belongs to the system inside the container; pick a directory of the app's own such as /data or /app/uploads`);
  }
  return trimmed;
}

/** `<instance>-<app>-<path words>-<hash>`: readable, and distinct for /a-b and /a/b. */
export function volumeName(instance: string, app: string, mountPath: string): string {
  const words = mountPath.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const hash = createHash('sha256').update(mountPath).digest('hex').slice(0, 8);
  return `${instance}-${app}-${words}-${hash}`;
}

export interface StorageDeps {
  readonly volumes: VolumeStore;
  readonly configVars: ConfigStore;
  readonly runtime: Pick<AppRuntime, 'ensureVolume' | 'listVolumes' | 'removeVolume' | 'volumeNode'>;
  readonly deployer: Pick<Deployer, 'changeApp'>;
  readonly instance: string;
}

/**
 * Named Docker volumes of an app, mounted in every process, release command and one-off
 * command. A change makes a new release of the live image (blue/green) so it applies at once.
 */
export class StorageService {
  constructor(private readonly deps: StorageDeps) {}

  list(app: App): Volume[] {
    return this.deps.volumes.list(app.id);
  }

  /** The app's volumes with, on a swarm, the node each lives on (where the app's processes run); a node not known now is left out. */
  listPlaced(app: App): Promise<(Volume & { node?: string })[]> {
    return Promise.all(this.list(app).map(async (volume) => {
      const node = await this.deps.runtime.volumeNode?.(volume.name).catch(() => undefined);
      return node === undefined ? volume : { ...volume, node };
    }));
  }

  /**
   * The volume's name from the app's name and path; with the app's id added when another app
   * records that name (an app renamed away from this name keeps its volumes' names and data).
   */
  private freeVolumeName(app: App, mountPath: string): string {
    const name = volumeName(this.deps.instance, app.name, mountPath);
    const owner = this.deps.volumes.ownerOf(name);
    return owner === undefined || owner === app.id ? name : `${name}-${app.id}`;
  }

  /** Mounts; on a swarm, `node` is the node that holds the volume, where the app's processes then run. */
  async mount(app: App, requested: string, madeBy: ReleaseAuthor): Promise<{ volume: Volume; release: Release | null; node?: string }> {
    const mountPath = validateMountPath(requested);
    const volume = { path: mountPath, name: this.freeVolumeName(app, mountPath) };
    const existed = (await this.deps.runtime.listVolumes(app.name)).includes(volume.name);
    await this.deps.runtime.ensureVolume(app.name, volume.name);
    try {
      const release = await this.change(app, madeBy, (volumes) => {
        if (volumes.some((existing) => existing.path === mountPath)) throw new ConflictError(`${app.name} has a volume at ${mountPath} already`);
        return { volumes: [...volumes, volume], description: mountDescription(mountPath), commit: () => this.deps.volumes.add(app.id, volume) };
      });
      const node = await this.deps.runtime.volumeNode?.(volume.name);
      return { volume: this.deps.volumes.list(app.id).find((mounted) => mounted.path === mountPath) as Volume, release, ...(node === undefined ? {} : { node }) };
    } catch (error) {
      // A mount that never applied leaves no volume behind (one kept from before, or one a concurrent
      // mount of the same path recorded meanwhile, stays: it holds data).
      const recorded = this.deps.volumes.list(app.id).some((mounted) => mounted.name === volume.name);
      if (!existed && !recorded) await this.deps.runtime.removeVolume(volume.name).catch(() => undefined);
      throw error;
    }
  }

  /** Unmounts; the volume and its files stay (apps:destroy --volumes removes them). */
  async unmount(app: App, requested: string, madeBy: ReleaseAuthor): Promise<{ volume: Volume; release: Release | null }> {
    const mountPath = validateMountPath(requested);
    let unmounted: Volume | undefined;
    const release = await this.change(app, madeBy, (volumes) => {
      unmounted = volumes.find((existing) => existing.path === mountPath);
      if (!unmounted) throw new NotFoundError(`${app.name} has no volume at ${mountPath} (see \`pilot storage\`)`);
      return { volumes: volumes.filter((existing) => existing.path !== mountPath), description: unmountDescription(mountPath), commit: () => this.deps.volumes.remove(app.id, mountPath) };
    });
    return { volume: unmounted as Volume, release };
  }

  /** The volumes after a change, decided under the app's lock, and written once the release that mounts them is live. */
  private change(app: App, madeBy: ReleaseAuthor, decide: (volumes: Volume[]) => { volumes: Pick<Volume, 'path' | 'name'>[]; description: string; commit: () => void }): Promise<Release | null> {
    return this.deps.deployer.changeApp(app, (live): AppChange => {
      const { volumes, description, commit } = decide(this.deps.volumes.list(app.id));
      if (!live) return { commit };
      return { commit, release: { kind: 'config', from: live, config: this.deps.configVars.get(app.id), buildKeys: this.deps.configVars.buildKeys(app.id), volumes, description, madeBy } };
    });
  }
}
