import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBuildCgroup } from '../../../src/adapters/docker/build-cgroup.js';

/** A cgroup file system laid out as the kernel's, in a temporary directory. */
function cgroupRoot(layout: 'v1' | 'v2'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cgroup-'));
  if (layout === 'v2') fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  else for (const controller of ['pids', 'memory', 'cpu']) fs.mkdirSync(path.join(root, controller));
  return root;
}

describe('createBuildCgroup', () => {
  it('makes a pids cgroup with the cap under cgroup v1 and removes it, and what the engine made beside it, after the build', () => {
    const root = cgroupRoot('v1');
    const cgroup = createBuildCgroup('pilot-build-x', 300, 'cgroupfs', root);
    assert.equal(cgroup.parent, '/pilot-build-x');
    assert.equal(cgroup.unavailable, undefined);
    assert.equal(fs.readFileSync(path.join(root, 'pids', 'pilot-build-x', 'pids.max'), 'utf8'), '300');
    fs.unlinkSync(path.join(root, 'pids', 'pilot-build-x', 'pids.max'));
    fs.mkdirSync(path.join(root, 'memory', 'pilot-build-x'));
    cgroup.remove();
    assert.deepEqual(['pids', 'memory', 'cpu'].filter((controller) => fs.existsSync(path.join(root, controller, 'pilot-build-x'))), []);
  });

  it('makes it in the unified hierarchy under cgroup v2', () => {
    const root = cgroupRoot('v2');
    const cgroup = createBuildCgroup('pilot-build-y', 4096, 'cgroupfs', root);
    assert.equal(cgroup.parent, '/pilot-build-y');
    assert.equal(fs.readFileSync(path.join(root, 'pilot-build-y', 'pids.max'), 'utf8'), '4096');
  });

  it('says why there is no cap when the engine uses systemd or the cgroup file system is not writable, and builds on', () => {
    const systemd = createBuildCgroup('pilot-build-z', 300, 'systemd', cgroupRoot('v1'));
    assert.equal(systemd.parent, undefined);
    assert.match(systemd.unavailable ?? '', /systemd cgroup driver/);
    const missing = createBuildCgroup('pilot-build-z', 300, 'cgroupfs', path.join(os.tmpdir(), 'no-such-cgroup-root'));
    assert.equal(missing.parent, undefined);
    assert.match(missing.unavailable ?? '', /Pilot cannot write .*\(ENOENT\)/);
    missing.remove();
  });
});
