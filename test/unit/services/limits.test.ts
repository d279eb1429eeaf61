import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LimitsService, type LimitsDeps } from '../../../src/services/limits.js';
import { createAppStore } from '../../../src/adapters/db/stores.js';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { ValidationError } from '../../../src/domain/errors.js';

function setup(t: { after(fn: () => void): void }, goesLive: boolean) {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const apps = createAppStore(db);
  apps.create('shop');
  const live = { id: 1, version: 3 };
  const deps = {
    apps,
    defaults: { appMemoryBytes: 512 * 1024 ** 2, appCpus: 1 },
    releases: { live: () => live },
    configVars: { get: () => ({}) },
    deployer: { releaseFromImage: async () => ({ live: goesLive, release: { version: 4, failureReason: 'the health check failed' } }) },
  } as unknown as LimitsDeps;
  return { apps, limits: new LimitsService(deps) };
}

describe('LimitsService cap-add', () => {
  it("gives back capabilities of Docker's default set, however spelled, and records them for the new release", async (t) => {
    const { apps, limits } = setup(t, true);
    const result = await limits.set(apps.findByName('shop') as NonNullable<ReturnType<typeof apps.findByName>>, { capAdd: ['net_raw', 'CAP_SYS_CHROOT', 'NET_RAW'] });
    assert.deepEqual(result.limits.capAdd, ['NET_RAW', 'SYS_CHROOT']);
    assert.deepEqual(apps.findByName('shop')?.capAdd, ['NET_RAW', 'SYS_CHROOT']);
  });

  it('refuses anything beyond them, and puts the old set back when the new release fails', async (t) => {
    const { apps, limits } = setup(t, false);
    const shop = apps.findByName('shop') as NonNullable<ReturnType<typeof apps.findByName>>;
    await assert.rejects(limits.set(shop, { capAdd: ['SYS_ADMIN'] }), (error: unknown) => error instanceof ValidationError && /cannot give an app "SYS_ADMIN"/.test(error.message));
    await assert.rejects(limits.set(shop, { capAdd: ['NET_RAW'] }), /v4 failed: the health check failed; v3 is still serving/);
    assert.deepEqual(apps.findByName('shop')?.capAdd, []);
  });
});
