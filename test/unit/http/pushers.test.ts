import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createTokenStore } from '../../../src/adapters/db/stores.js';
import { hashToken } from '../../../src/domain/tokens.js';
import type { ReleaseAuthor } from '../../../src/domain/types.js';
import { Pushers } from '../../../src/http/pushers.js';
import { gitRoutes } from '../../../src/http/routes/git.js';
import type { AppRegistry } from '../../../src/services/app-registry.js';

const OLD = '0'.repeat(40);
const NEW = 'b'.repeat(40);
const pkt = (text: string) => (text.length + 4).toString(16).padStart(4, '0') + text;

describe('Pushers: who pushes what, from the git route to the deploy the hook asks for', () => {
  it('tells who pushes an update while the push runs, and forgets it once the push ended', () => {
    const pushers = new Pushers();
    const author: ReleaseAuthor = { kind: 'token', tokenId: 3, label: 'admin token ci' };
    const update = { ref: 'refs/heads/main', oldSha: OLD, newSha: NEW };
    const end = pushers.begin('shop', [update], author);
    assert.equal(pushers.find('shop', update), author);
    assert.equal(pushers.find('blog', update), undefined, 'another app');
    assert.equal(pushers.find('shop', { ...update, oldSha: NEW }), undefined, 'another update');
    // The same update pushed again by another token, before the first push ended: it is the second's.
    const other: ReleaseAuthor = { kind: 'token', tokenId: 4, label: 'deploy token shop-ci' };
    const endOther = pushers.begin('shop', [update], other);
    end();
    assert.equal(pushers.find('shop', update), other);
    endOther();
    assert.equal(pushers.find('shop', update), undefined);
  });

  it('is told by the git route which token pushes, for as long as git runs', async (t) => {
    const db = openDatabase(':memory:');
    const tokens = createTokenStore(db);
    const token = tokens.create({ name: 'shop-ci', prefix: 'pilot_shop', hash: hashToken('pilot_shop-secret'), scope: 'admin', appId: null });
    const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-pushers-'));
    const pushers = new Pushers();
    const seenByGit: (ReleaseAuthor | undefined)[] = [];
    const app = Fastify();
    const registry = { find: () => ({ id: 1, name: 'shop' }), findOrCreate: async () => ({ id: 1, name: 'shop' }) } as unknown as AppRegistry;
    await app.register(gitRoutes, {
      tokens, registry, maxPushBytes: 1024 * 1024, spoolDir, pushers,
      git: {
        handle(_request, response) {
          seenByGit.push(pushers.find('shop', { ref: 'refs/heads/main', oldSha: OLD, newSha: NEW }));
          response.writeHead(200).end();
        },
      },
    });
    t.after(async () => {
      await app.close();
      db.close();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    });
    const answer = await app.inject({
      method: 'POST',
      url: '/shop.git/git-receive-pack',
      headers: { 'content-type': 'application/x-git-receive-pack-request', authorization: `Basic ${Buffer.from('x:pilot_shop-secret').toString('base64')}` },
      payload: `${pkt(`${OLD} ${NEW} refs/heads/main\0report-status\n`)}0000PACK`,
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(seenByGit, [{ kind: 'token', tokenId: token.id, label: 'admin token shop-ci' }]);
    assert.equal(pushers.find('shop', { ref: 'refs/heads/main', oldSha: OLD, newSha: NEW }), undefined, 'forgotten once git answered');
  });
});
