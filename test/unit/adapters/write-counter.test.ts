import { it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createDomainStore, createEventStore, createFormationStore, createReleaseStore, createTokenStore } from '../../../src/adapters/db/stores.js';
import { LISTED_TABLES, countWrites } from '../../../src/adapters/db/write-counter.js';
import { goLive } from '../../helpers/releases.js';

it('counts every write to the listed tables, whichever store makes it, and none to the others', () => {
  const db = openDatabase(':memory:');
  const listedWrites = countWrites(db, LISTED_TABLES);
  const apps = createAppStore(db);
  const releases = createReleaseStore(db);
  const domains = createDomainStore(db);
  const formation = createFormationStore(db);
  const tokens = createTokenStore(db);
  const events = createEventStore(db);
  let seen = listedWrites();
  /** Whether the count moved since the last call. */
  const moved = (): boolean => {
    const now = listedWrites();
    const result = now !== seen;
    seen = now;
    return result;
  };

  const shop = apps.create('shop');
  assert.ok(moved(), 'an app created');
  const release = releases.create({ appId: shop.id, kind: 'deploy', gitSha: null, config: {} });
  assert.ok(moved(), 'a release created');
  releases.update(release.id, { containerId: 'c1' });
  assert.ok(moved(), 'a release changed');
  goLive(releases, release.id);
  assert.ok(moved(), 'a release promoted');
  domains.add(shop.id, 'www.shop.example');
  assert.ok(moved(), 'a domain added');
  formation.set(shop.id, { web: 2 });
  assert.ok(moved(), 'a scale set');
  apps.setMaintenance(shop.id, true);
  assert.ok(moved(), 'an app changed');
  apps.rename(shop.id, 'store');
  assert.ok(moved(), 'an app renamed');

  const token = tokens.create({ name: 'ci', prefix: 'pilot_x', hash: 'a'.repeat(64), scope: 'app', appId: shop.id });
  tokens.touch(token.id);
  events.append({ appId: shop.id, app: 'store', kind: 'deploy.started', message: 'v2' }, 100);
  assert.ok(!moved(), 'tokens and events are not listed');

  apps.delete(shop.id);
  assert.ok(moved(), 'an app deleted, with its rows');
  assert.deepEqual([apps.list(), domains.all().size, formation.all().size, releases.list(shop.id)], [[], 0, 0, []]);
  db.close();
});

it('keeps two counters on one connection apart', () => {
  const db = openDatabase(':memory:');
  const appsOnly = countWrites(db, ['apps']);
  const domainsOnly = countWrites(db, ['domains']);
  const shop = createAppStore(db).create('shop');
  assert.deepEqual([appsOnly(), domainsOnly()], [1, 0]);
  createDomainStore(db).add(shop.id, 'www.shop.example');
  assert.deepEqual([appsOnly(), domainsOnly()], [1, 1]);
  db.close();
});
