import { it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import { goLive } from '../../helpers/releases.js';

it('AppStore.listings gives every app by name, with its live release only (none: undefined)', () => {
  const db = openDatabase(':memory:');
  const apps = createAppStore(db);
  const releases = createReleaseStore(db);
  const shop = apps.create('shop');
  const blog = apps.create('blog');
  apps.create('api');
  apps.setMaintenance(shop.id, true);
  apps.setBuildDir(blog.id, 'apps/blog');
  apps.setWatchSeconds(blog.id, 30);
  const first = releases.create({ appId: shop.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: {} });
  releases.update(first.id, { containerId: 'c1' });
  goLive(releases, first.id);
  const second = releases.create({ appId: shop.id, kind: 'config', gitSha: 'a'.repeat(40), config: { A: '1' } });
  releases.update(second.id, { containerId: 'c2' });
  goLive(releases, second.id);
  releases.create({ appId: blog.id, kind: 'deploy', gitSha: null, config: {} });

  const listings = apps.listings();

  assert.deepEqual(listings.map(({ app }) => app.name), ['api', 'blog', 'shop']);
  const live = releases.live(shop.id)!;
  assert.deepEqual(listings[2], {
    app: { id: shop.id, name: 'shop', createdAt: shop.createdAt, buildDir: null, maintenance: true, watchSeconds: null },
    live: { appId: shop.id, version: 2, kind: 'config', gitSha: 'a'.repeat(40), containerId: 'c2', createdAt: live.createdAt },
  });
  assert.deepEqual(listings[1], {
    app: { id: blog.id, name: 'blog', createdAt: blog.createdAt, buildDir: 'apps/blog', maintenance: false, watchSeconds: 30 },
    live: undefined,
  });
});
