import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createReleaseStore, createTokenStore } from '../../../src/adapters/db/stores.js';
import { AUTO_ROLLBACK_AUTHOR, UNKNOWN_PUSHER, WEBHOOK_AUTHOR, tokenAuthor } from '../../../src/domain/release-authors.js';

/** Who made a release, as the release store keeps it and reads it back with what became of its token. */
describe('ReleaseStore: who made a release', () => {
  function fresh() {
    const db = openDatabase(':memory:');
    const app = createAppStore(db).create('shop');
    const tokens = createTokenStore(db);
    const releases = createReleaseStore(db);
    const token = (name: string, scope: 'admin' | 'app') => tokens.create({ name, prefix: 'pilot_x', hash: `hash-${name}`, scope, appId: scope === 'app' ? app.id : null });
    return { db, app, tokens, releases, token };
  }

  it('keeps the token id and its label, never anything of its secret', () => {
    const { app, releases, token } = fresh();
    const ci = token('shop-ci', 'app');
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {}, madeBy: tokenAuthor({ tokenId: ci.id, scope: 'app', name: 'shop-ci' }) });
    assert.deepEqual(release.madeBy, { kind: 'token', tokenId: ci.id, label: 'deploy token shop-ci' });
    assert.deepEqual(releases.list(app.id)[0]?.madeBy, release.madeBy);
    assert.doesNotMatch(JSON.stringify(release), /hash-shop-ci|pilot_x/);
  });

  it('says a token was revoked, and names a deleted one by the label it had', () => {
    const { db, app, tokens, releases, token } = fresh();
    const revoked = token('old-ci', 'admin');
    const deleted = token('gone-ci', 'admin');
    const byRevoked = releases.create({ appId: app.id, kind: 'config', gitSha: null, config: {}, madeBy: tokenAuthor({ tokenId: revoked.id, scope: 'admin', name: 'old-ci' }) });
    const byDeleted = releases.create({ appId: app.id, kind: 'rollback', gitSha: null, config: {}, madeBy: tokenAuthor({ tokenId: deleted.id, scope: 'admin', name: 'gone-ci' }) });
    tokens.revoke(revoked.id);
    db.prepare('DELETE FROM tokens WHERE id = ?').run(deleted.id);
    assert.deepEqual(releases.get(byRevoked.id)?.madeBy, { kind: 'token', tokenId: revoked.id, label: 'admin token old-ci (revoked)' });
    assert.deepEqual(releases.get(byDeleted.id)?.madeBy, { kind: 'token', tokenId: null, label: 'deleted admin token gone-ci' });
  });

  it('keeps what is not a token as its label, and nothing for a release made before it was recorded', () => {
    const { app, releases } = fresh();
    for (const author of [WEBHOOK_AUTHOR, AUTO_ROLLBACK_AUTHOR, UNKNOWN_PUSHER]) {
      const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {}, madeBy: author });
      assert.deepEqual(releases.get(release.id)?.madeBy, { kind: author.kind, tokenId: null, label: author.label });
    }
    assert.equal(releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {} }).madeBy, null);
  });
});
