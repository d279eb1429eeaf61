import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageService, validateMountPath, volumeName } from '../../../src/services/storage.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { buildCore } from '../../helpers/core.js';
import { SOMEONE } from '../../helpers/releases.js';

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
  /** Storage through the real deployer and rollout, over the fake runtime; v2's check fails. */
  async function service(existingVolumes: string[], volumeNode?: (name: string) => Promise<string | undefined>) {
    const core = buildCore();
    const app = core.apps.create('web');
    await core.liveRelease(app);
    const volumes = new Set(existingVolumes);
    const runtime = {
      listVolumes: async () => [...volumes],
      ensureVolume: async (_app: string, name: string) => void volumes.add(name),
      removeVolume: async (name: string) => void volumes.delete(name),
      ...(volumeNode ? { volumeNode } : {}),
    };
    core.runtime.checks.set('v2 web.1', 'times-out');
    const storage = new StorageService({ volumes: core.volumes, configVars: core.configVars, runtime, deployer: core.deployer, instance: 'pilot' });
    return { storage, volumes, core, app };
  }

  it('removes the volume it made when the new release fails, and keeps the row out', async () => {
    const { storage, volumes, core, app } = await service([]);
    await assert.rejects(storage.mount(app, '/data', SOMEONE), /v2 failed: .*; v1 is still serving/);
    assert.deepEqual([...volumes], [], 'no volume is left behind');
    assert.deepEqual(core.volumes.list(app.id), []);
  });

  it('keeps a volume an earlier unmount left (its files are the user\'s) when the new release fails', async () => {
    const earlier = volumeName('pilot', 'web', '/data');
    const { storage, volumes, app } = await service([earlier]);
    await assert.rejects(storage.mount(app, '/data', SOMEONE), /v1 is still serving/);
    assert.deepEqual([...volumes], [earlier]);
  });

  it('names its volume apart from one another app records under this name (an app renamed away keeps its data)', async () => {
    const { storage, core, app } = await service([]);
    core.runtime.checks.delete('v2 web.1');
    const renamedAway = core.apps.create('web-before');
    const theirs = volumeName('pilot', 'web', '/data');
    core.volumes.add(renamedAway.id, { path: '/data', name: theirs });
    const { volume } = await storage.mount(app, '/data', SOMEONE);
    assert.equal(volume.name, `${theirs}-${app.id}`);
    assert.deepEqual(core.volumes.list(renamedAway.id).map((row) => row.name), [theirs]);
  });

  it('mounts in the new release and records the volume only once it serves', async () => {
    const { storage, volumes, core, app } = await service([]);
    core.runtime.checks.delete('v2 web.1');
    const { volume, release } = await storage.mount(app, '/data', SOMEONE);
    assert.equal(release?.version, 2);
    assert.equal(release?.madeBy?.label, SOMEONE.label, 'made by who asked');
    assert.deepEqual(core.volumes.list(app.id).map((row) => row.path), ['/data']);
    assert.deepEqual([...volumes], [volume.name]);
  });

  it('answers the node that holds the volume on a swarm, and no node on one host', async () => {
    for (const [volumeNode, expected] of [[async () => 'swarm-worker-1', 'swarm-worker-1'], [undefined, undefined]] as const) {
      const { storage, core, app } = await service([], volumeNode);
      core.runtime.checks.delete('v2 web.1');
      const answer = await storage.mount(app, '/data', SOMEONE);
      assert.equal(answer.node, expected);
      assert.equal('node' in answer, expected !== undefined);
    }
  });
});
