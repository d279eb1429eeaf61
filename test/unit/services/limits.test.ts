import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LimitsService } from '../../../src/services/limits.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { buildCore } from '../../helpers/core.js';
import { SOMEONE } from '../../helpers/releases.js';

/** Limits through the real deployer and rollout, over the fake runtime (a failing check is scripted there). */
function setup() {
  const core = buildCore();
  const limits = new LimitsService({ apps: core.apps, configVars: core.configVars, deployer: core.deployer, defaults: { appMemoryBytes: 512 * 1024 ** 2, appCpus: 1 } });
  const shop = core.apps.create('shop');
  return { core, limits, shop };
}

describe('LimitsService cap-add', () => {
  it("gives back capabilities of Docker's default set, however spelled, and records them with the new release", async () => {
    const { core, limits, shop } = setup();
    await core.liveRelease(shop);
    const result = await limits.set(shop, { capAdd: ['net_raw', 'CAP_SYS_CHROOT', 'NET_RAW'] }, SOMEONE);
    assert.deepEqual(result.limits.capAdd, ['NET_RAW', 'SYS_CHROOT']);
    assert.deepEqual(core.apps.findByName('shop')?.capAdd, ['NET_RAW', 'SYS_CHROOT']);
    assert.equal(result.release?.version, 2);
    assert.equal(result.release?.madeBy?.label, SOMEONE.label, 'made by who asked');
    const [web] = await core.runtime.list({ app: 'shop', release: 2 });
    assert.ok(web, 'v2 runs');
  });

  it('refuses anything beyond them, and writes nothing when the new release fails', async () => {
    const { core, limits, shop } = setup();
    await core.liveRelease(shop);
    await assert.rejects(limits.set(shop, { capAdd: ['SYS_ADMIN'] }, SOMEONE), (error: unknown) => error instanceof ValidationError && /cannot give an app "SYS_ADMIN"/.test(error.message));
    core.runtime.checks.set('v2 web.1', 'times-out');
    await assert.rejects(limits.set(shop, { capAdd: ['NET_RAW'], memory: '256m' }, SOMEONE), /v2 failed: web\.1: no answer .*; v1 is still serving/);
    assert.deepEqual(core.apps.findByName('shop')?.capAdd, []);
    assert.equal(core.apps.findByName('shop')?.memoryBytes, null);
  });

  it('writes at once for an app that has nothing live', async () => {
    const { core, limits, shop } = setup();
    const result = await limits.set(shop, { cpus: 0.5 }, SOMEONE);
    assert.equal(result.release, null);
    assert.equal(core.apps.findByName('shop')?.cpus, 0.5);
  });
});
