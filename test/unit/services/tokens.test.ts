import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createTokenStore } from '../../../src/adapters/db/stores.js';
import { ConflictError, NotFoundError } from '../../../src/domain/errors.js';
import { hashToken } from '../../../src/domain/tokens.js';
import { ENV_ADMIN_TOKEN_NAME, ensureAdminToken } from '../../../src/services/admin-token.js';
import { TokenService } from '../../../src/services/tokens.js';

function fresh() {
  const db = openDatabase(':memory:');
  const apps = createAppStore(db);
  const store = createTokenStore(db);
  store.ensureAdminToken('admin', hashToken('pilot_first-admin-token-xxxxxxxx'), 'pilot_first-');
  return { db, apps, store, tokens: new TokenService(store, apps) };
}

describe('TokenService.revoke', () => {
  it('revokes exactly the token named by its id, its name or its listed prefix, and says which', () => {
    const { apps, store, tokens } = fresh();
    apps.create('web');
    const ci = tokens.create({ name: 'ci', app: 'web' });
    const other = tokens.create({ name: 'other', app: 'web' });
    const third = tokens.create({ name: 'third', app: 'web' });
    assert.equal(tokens.revoke('ci').id, ci.id);
    assert.equal(tokens.revoke(String(other.id)).name, 'other');
    assert.equal(tokens.revoke(third.prefix).id, third.id);
    assert.deepEqual(store.list().map((token) => token.name), ['admin']);
  });

  it('refuses a reference that names several tokens, revoking none of them', () => {
    const { apps, store, tokens } = fresh();
    apps.create('web');
    tokens.create({ name: 'ci', app: 'web' });
    tokens.create({ name: 'ci', app: 'web' });
    // A token called "3" and the token whose id is 3.
    const named = tokens.create({ name: '3', app: 'web' });
    assert.notEqual(named.id, 3);
    const before = store.list().length;
    assert.throws(() => tokens.revoke('ci'), (error: unknown) => error instanceof ConflictError && /"ci" names 2 tokens: .*revoke one by its id/.test(error.message));
    assert.throws(() => tokens.revoke('3'), ConflictError);
    assert.equal(store.list().length, before);
  });

  it('matches neither part of a name nor a prefix that is not the listed pilot_ form', () => {
    const { apps, tokens } = fresh();
    apps.create('web');
    const ci = tokens.create({ name: 'ci deploy', app: 'web' });
    for (const reference of ['ci', 'deploy', ci.prefix.slice(0, 8), ci.prefix.slice(6), ci.token]) {
      assert.throws(() => tokens.revoke(reference), NotFoundError, reference);
    }
  });

  it('refuses to revoke the last admin token', () => {
    const { tokens } = fresh();
    assert.throws(() => tokens.revoke('admin'), /last admin token/);
  });
});

describe('ensureAdminToken', () => {
  it('makes PILOT_ADMIN_TOKEN the only valid token of its name: a rotated value is revoked, a removed one too', () => {
    const { store } = fresh();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-admin-')), 'admin-token');
    const first = 'first-admin-token-0123456789';
    const second = 'second-admin-token-0123456789';
    ensureAdminToken(store, first, file);
    assert.ok(store.findByHash(hashToken(first)));
    ensureAdminToken(store, second, file);
    assert.equal(store.findByHash(hashToken(first)), undefined, 'the old value no longer authenticates');
    assert.ok(store.findByHash(hashToken(second)));
    assert.equal(store.list().filter((token) => token.name === ENV_ADMIN_TOKEN_NAME).length, 1);
    // Back to an earlier value: valid again (the environment says so), the other one revoked.
    ensureAdminToken(store, first, file);
    assert.ok(store.findByHash(hashToken(first)));
    assert.equal(store.findByHash(hashToken(second)), undefined);
    // Unset: the generated token takes over, the environment's is gone.
    const { generated } = ensureAdminToken(store, undefined, file);
    assert.ok(generated && store.findByHash(hashToken(generated)));
    assert.equal(store.findByHash(hashToken(first)), undefined);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
