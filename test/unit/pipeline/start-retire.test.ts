import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerPlan } from '../../../src/pipeline/start.js';
import { imagesToPrune } from '../../../src/pipeline/retire.js';
import type { Release, ReleaseStatus } from '../../../src/domain/types.js';

describe('containerPlan', () => {
  it('names the container by instance, app and slot, sets PORT over config and labels the release', () => {
    const plan = containerPlan({
      instance: 'pt-1', app: 'shop', version: 7, slot: 'green', image: 'pt-1/shop:v7',
      config: { DATABASE_URL: 'postgres://x', PORT: '1' }, port: 5000, memoryBytes: 512 * 1024 * 1024, cpus: 0.5,
    });
    assert.equal(plan.name, 'pt-1-shop-green');
    assert.equal(plan.network, 'pt-1-net');
    assert.deepEqual(plan.env, { DATABASE_URL: 'postgres://x', PORT: '5000' });
    assert.deepEqual(plan.labels, { 'pilot.instance': 'pt-1', 'pilot.app': 'shop', 'pilot.release': '7', 'pilot.slot': 'green' });
    assert.equal(plan.nanoCpus, 500_000_000);
    assert.equal(plan.restartPolicy, 'no', 'a candidate is not restarted while it is checked');
  });
});

function release(version: number, status: ReleaseStatus, image: string | null): Release {
  return {
    id: version, appId: 1, version, kind: 'deploy', gitSha: null, buildpack: 'node', image, config: {}, status,
    slot: null, containerId: null, port: 5000, healthPath: '/', failureReason: null, createdAt: '', updatedAt: '',
  };
}

describe('imagesToPrune', () => {
  it('keeps the newest releases and the live one, and prunes the rest once each', () => {
    const releases = [
      release(1, 'retired', 'app:v1'),
      release(2, 'live', 'app:v2'),
      release(3, 'failed', 'app:v3'),
      release(4, 'failed', null),
      release(5, 'failed', 'app:v5'),
      release(6, 'retired', 'app:v1'),
    ];
    assert.deepEqual(imagesToPrune(releases, 2), ['app:v3']);
    assert.deepEqual(imagesToPrune(releases, 1), ['app:v5', 'app:v3']);
  });
});
