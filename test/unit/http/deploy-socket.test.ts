import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { RESULT_MARKER, listenForDeploys } from '../../../src/http/deploy-socket.js';
import type { BranchPushes } from '../../../src/services/preview-pushes.js';
import type { PushRequest } from '../../../src/pipeline/deploy.js';
import { Pushers } from '../../../src/http/pushers.js';

const OLD = '0'.repeat(40);
const NEW = 'a'.repeat(40);

function request(socketPath: string, method: string, url: string, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ socketPath, method, path: url }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('the deploy socket: branches other than the deploy branch (preview apps)', () => {
  async function listen(t: { after(fn: () => Promise<void>): void }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-socket-'));
    const socketPath = path.join(dir, 'deploy.sock');
    const calls: string[] = [];
    const branches: BranchPushes = {
      judge: (app, branch, deployBranch, pushedWith) => (calls.push(`judge ${app} ${branch} ${deployBranch} [${pushedWith.join(' ')}]`), branch === 'full' ? { action: 'refuse', reason: 'over the cap' } : { action: 'deploy' }),
      pushed: async (push, deployBranch, write) => {
        let received = '';
        for await (const chunk of push.source) received += String(chunk);
        calls.push(`pushed ${push.app} ${push.branch} ${deployBranch} ${received} by ${push.madeBy.label}`);
        write('-----> deployed the preview');
        return true;
      },
      deleted: async (app, branch) => (calls.push(`deleted ${app} ${branch}`), true),
    };
    const deployer = { deployPush: async (push: PushRequest) => (calls.push(`deployPush by ${push.madeBy.label}`), true) };
    const pushers = new Pushers();
    const server = await listenForDeploys(socketPath, deployer, pino({ level: 'silent' }), branches, pushers);
    t.after(async () => {
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { socketPath, calls, pushers };
  }

  it('judges a branch before its archive is sent, deploys it into its preview, and tells of a deletion', async (t) => {
    const { socketPath, calls } = await listen(t);
    const judged = await request(socketPath, 'GET', '/branch?app=shop&branch=preview%2Fx&deploy=main');
    assert.deepEqual(JSON.parse(judged.text), { action: 'deploy' });
    const full = await request(socketPath, 'GET', '/branch?app=shop&branch=full&deploy=main&with=preview%2Fx&with=preview%2Fy');
    assert.deepEqual(JSON.parse(full.text), { action: 'refuse', reason: 'over the cap' });
    const pushed = await request(socketPath, 'POST', `/preview?app=shop&branch=preview%2Fx&old=${OLD}&new=${NEW}&deploy=main`, 'the archive');
    assert.equal(pushed.text, `-----> deployed the preview\n${RESULT_MARKER}ok\n`);
    const deleted = await request(socketPath, 'POST', '/delete?app=shop&branch=preview%2Fx');
    assert.equal(deleted.text, `${RESULT_MARKER}ok\n`);
    assert.deepEqual(calls, ['judge shop preview/x main []', 'judge shop full main [preview/x preview/y]', 'pushed shop preview/x main the archive by unknown pusher', 'deleted shop preview/x']);
  });

  it('refuses malformed requests, reaching nothing', async (t) => {
    const { socketPath, calls } = await listen(t);
    for (const [method, url] of [
      ['POST', `/preview?app=shop&branch=x&old=${OLD}&new=${NEW}`],
      ['POST', `/preview?app=shop&branch=x&old=${OLD}&new=nope&deploy=main`],
      ['POST', '/delete?app=shop'],
      ['GET', '/branch?app=shop&branch=x'],
      ['GET', `/preview?app=shop&branch=x&old=${OLD}&new=${NEW}&deploy=main`],
    ] as const) {
      const answer = await request(socketPath, method, url);
      assert.equal(answer.status, 400, `${method} ${url}`);
      assert.equal(answer.text, ` !     malformed deploy request\n${RESULT_MARKER}failed\n`);
    }
    assert.deepEqual(calls, []);
  });

  it('gives the deploy (a preview too) the token git authenticated the push with, and says when it cannot tell', async (t) => {
    const { socketPath, calls, pushers } = await listen(t);
    const author = { kind: 'token', tokenId: 7, label: 'deploy token shop-ci' } as const;
    const end = pushers.begin('shop', [{ ref: 'refs/heads/main', oldSha: OLD, newSha: NEW }, { ref: 'refs/heads/preview/x', oldSha: OLD, newSha: NEW }], author);
    await request(socketPath, 'POST', `/deploy?app=shop&branch=main&old=${OLD}&new=${NEW}`, 'the archive');
    await request(socketPath, 'POST', `/preview?app=shop&branch=preview%2Fx&old=${OLD}&new=${NEW}&deploy=main`, 'the archive');
    end();
    // A hook run by something other than Pilot's git route: no token to name.
    await request(socketPath, 'POST', `/deploy?app=shop&branch=main&old=${OLD}&new=${NEW}`, 'the archive');
    assert.deepEqual(calls, ['deployPush by deploy token shop-ci', 'pushed shop preview/x main the archive by deploy token shop-ci', 'deployPush by unknown pusher']);
  });
});
