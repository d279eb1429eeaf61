import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ConfigStore, ContainerEngine, ReleaseStore, VolumeStore } from '../domain/ports.js';
import type { App, Release, Volume } from '../domain/types.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { mountDescription, unmountDescription } from '../domain/release-descriptions.js';
import { rereleaseOrUndo } from './rerelease.js';
import type { Deployer } from '../pipeline/deploy.js';
import { instanceLabels } from '../pipeline/start.js';

const MOUNT_PATH = /^\/[A-Za-z0-9._\-/]{1,200}$/;

/** A mount path: absolute, normalized, no `..`, not `/`; returned without a trailing slash. */
export function validateMountPath(input: string): string {
  const shown = JSON.stringify(input.slice(0, 100));
  const trimmed = input.length > 1 ? input.replace(/\/+$/, '') : input;
  if (!MOUNT_PATH.test(trimmed) || trimmed.split('/').some((part) => part === '..' || part === '.') || path.posix.normalize(trimmed) !== trimmed) {
    throw new ValidationError(`invalid mount path ${shown}: use an absolute path inside the container, without .. (e.g. /app/uploads)`);
  }
  if (trimmed === '/') throw new ValidationError('cannot mount a volume at /: pick a directory such as /data');
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
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly engine: ContainerEngine;
  readonly deployer: Deployer;
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

  async mount(app: App, requested: string): Promise<{ volume: Volume; release: Release | null }> {
    const mountPath = validateMountPath(requested);
    if (this.deps.volumes.list(app.id).some((volume) => volume.path === mountPath)) throw new ConflictError(`${app.name} has a volume at ${mountPath} already`);
    const name = volumeName(this.deps.instance, app.name, mountPath);
    await this.deps.engine.ensureVolume(name, instanceLabels(this.deps.instance, app.name));
    this.deps.volumes.add(app.id, { path: mountPath, name });
    const release = await this.rerelease(app, mountDescription(mountPath), () => this.deps.volumes.remove(app.id, mountPath));
    return { volume: this.deps.volumes.list(app.id).find((volume) => volume.path === mountPath) as Volume, release };
  }

  /** Unmounts; the volume and its files stay (apps:destroy --volumes removes them). */
  async unmount(app: App, requested: string): Promise<{ volume: Volume; release: Release | null }> {
    const mountPath = validateMountPath(requested);
    const volume = this.deps.volumes.list(app.id).find((existing) => existing.path === mountPath);
    if (!volume) throw new NotFoundError(`${app.name} has no volume at ${mountPath} (see \`pilot storage\`)`);
    this.deps.volumes.remove(app.id, mountPath);
    const release = await this.rerelease(app, unmountDescription(mountPath), () => this.deps.volumes.add(app.id, volume));
    return { volume, release };
  }

  private rerelease(app: App, description: string, undo: () => void): Promise<Release | null> {
    return rereleaseOrUndo(this.deps, app, description, undo);
  }
}
