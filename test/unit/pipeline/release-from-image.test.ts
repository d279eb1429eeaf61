import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Deployer, type DeployerDeps } from '../../../src/pipeline/deploy.js';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createConfigStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import type { ContainerEngine } from '../../../src/domain/ports.js';
import { loadConfig } from '../../../src/config.js';
import { goLive } from '../../helpers/releases.js';

/** Rollback and config releases refuse what cannot run before touching anything (engine faked: pure logic). */
describe('Deployer.releaseFromImage', () => {
  function setup(imageExists: boolean) {
    const db = openDatabase(':memory:');
    const apps = createAppStore(db);
    const releases = createReleaseStore(db);
    const configVars = createConfigStore(db);
    const app = apps.create('shop');
    const old = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: {} });
    releases.update(old.id, { image: 'pilot/shop:v1', port: 5000 });
    goLive(releases, old.id);
    const unbuilt = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'b'.repeat(40), config: {} });
    releases.transition(unbuilt.id, 'failed');
    const engine = { imageExists: async () => imageExists } as unknown as ContainerEngine;
    const deps = { settings: loadConfig({ PILOT_KEEP_RELEASES: '3' }), apps, releases, configVars, engine, logger: pino({ level: 'silent' }) } as unknown as DeployerDeps;
    return { deployer: new Deployer(deps), app, releases, old: releases.get(old.id)!, unbuilt: releases.get(unbuilt.id)! };
  }

  it('refuses a release whose image was pruned, saying how to get it back, and creates no release', async () => {
    const { deployer, app, releases, old } = setup(false);
    await assert.rejects(
      deployer.releaseFromImage({ app, kind: 'rollback', from: old, config: {} }),
      /the image of v1 was pruned \(images are kept for the last 3 releases\): push that commit again to rebuild it/,
    );
    assert.equal(releases.list(app.id).length, 2);
  });

  it('refuses a release that never got an image', async () => {
    const { deployer, app, unbuilt } = setup(true);
    await assert.rejects(deployer.releaseFromImage({ app, kind: 'rollback', from: unbuilt, config: {} }), /v2 has no image to run/);
  });
});
