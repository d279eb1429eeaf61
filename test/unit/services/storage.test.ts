import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageService, validateMountPath, volumeName, type StorageDeps } from '../../../src/services/storage.js';
import { ValidationError } from '../../../src/domain/errors.js';
import type { App, Release, Volume } from '../../../src/domain/types.js';

describe('validateMountPath', () => {
  it('refuses the system directories and everything under them, naming the directory and what to pick', () => {
    for (const [requested, system] of [['/proc', '/proc'], ['/sys/fs', '/sys'], ['/sys/fs/cgroup', '/sys'], ['/etc', '/etc'], ['/etc/nginx', '/etc'], ['/bin', '/bin'],
      ['/dev', '/dev'], ['/dev/shm', '/dev'], ['/usr/lib', '/usr'], ['/lib64', '/lib64'], ['/sbin', '/sbin'], ['/boot', '/boot'], ['/run/secrets', '/run'], ['/var/run', '/var/run'], ['/proc/', '/proc']]) {
      assert.throws(() => validateMountPath(requested as string), (error: unknown) => {
        assert.ok(error instanceof ValidationError, requested);
        assert.match(error.message, new RegExp(`^cannot mount a volume at ${requested?.replace(/\/$/, '')}: ${system} belongs to the system inside the container; pick a directory of the app's own such as /data`));
        return true;
      });
    }
  });

  it('accepts the app\'s own directories, also ones that only begin like a system directory', () => {
    for (const accepted of ['/data', '/app/uploads', '/var/lib/postgresql/data', '/usrdata', '/etcetera', '/srv/files', '/home/app']) {
      assert.equal(validateMountPath(accepted), accepted);
    }
  });
});

describe('StorageService.mount', () => {
  const app: App = { id: 1, name: 'web', createdAt: '', memoryBytes: null, cpus: null, buildDir: null, capAdd: [], links: [] };
  const live = { id: 7, appId: 1, version: 3, image: 'pilot/web:v3' } as unknown as Release;

  function service(existingVolumes: string[]) {
    const volumes = new Set(existingVolumes);
    const rows: Volume[] = [];
    const deps = {
      instance: 'pilot',
      volumes: {
        list: () => [...rows],
        add: (_appId: number, volume: { path: string; name: string }) => void rows.push({ ...volume, createdAt: '' }),
        remove: (_appId: number, mountPath: string) => rows.splice(rows.findIndex((row) => row.path === mountPath), 1).length > 0,
      },
      releases: { live: () => live },
      configVars: { get: () => ({}) },
      engine: {
        listVolumes: async () => [...volumes],
        ensureVolume: async (name: string) => void volumes.add(name),
        removeVolume: async (name: string) => void volumes.delete(name),
      },
      deployer: { releaseFromImage: async () => ({ live: false, release: { version: 4, failureReason: 'the health check failed' } }) },
    } as unknown as StorageDeps;
    return { storage: new StorageService(deps), volumes, rows };
  }

  it('removes the volume it made when the new release fails, and keeps the row out', async () => {
    const { storage, volumes, rows } = service([]);
    await assert.rejects(storage.mount(app, '/data'), /v4 failed: the health check failed; v3 is still serving/);
    assert.deepEqual([...volumes], [], 'no volume is left behind');
    assert.deepEqual(rows, []);
  });

  it('keeps a volume an earlier unmount left (its files are the user\'s) when the new release fails', async () => {
    const earlier = volumeName('pilot', 'web', '/data');
    const { storage, volumes } = service([earlier]);
    await assert.rejects(storage.mount(app, '/data'), /v3 is still serving/);
    assert.deepEqual([...volumes], [earlier]);
  });
});
