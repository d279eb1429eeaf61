import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import pino from 'pino';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { RepoSources } from '../../../src/services/repo-sources.js';
import { DeployOutput } from '../../../src/pipeline/output.js';
import { DeployError } from '../../../src/domain/errors.js';
import type { FetchedTree, RepositoryFetcher } from '../../../src/domain/ports.js';
import type { Deployer, PreparedSource } from '../../../src/pipeline/deploy.js';
import type { App, ReleaseAuthor } from '../../../src/domain/types.js';

const HEADS = ['1', '2', '3', '4'].map((digit) => digit.repeat(40));
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** The API over a fake git host (whose branch head the test moves) and a deployer that records what it deployed, held at will. */
async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const host = { head: HEADS[0] as string, fetches: [] as string[], failWith: undefined as Error | undefined };
  const deployed: string[] = [];
  let hold: Promise<void> | undefined;
  const fetcher: RepositoryFetcher = {
    async fetchBranch(request) {
      host.fetches.push(`${request.url} ${request.branch} ${request.credential ?? '-'}`);
      if (host.failWith) throw host.failWith;
      return { sha: host.head, tar: Readable.from([]), remove: async () => undefined } satisfies FetchedTree;
    },
  };
  const deployer = {
    async deployPrepared(_app: string, madeBy: ReleaseAuthor, prepare: (app: App, output: DeployOutput) => Promise<PreparedSource>, write: (line: string) => void) {
      await hold;
      const output = new DeployOutput(write);
      try {
        const prepared = await prepare(built.apps.findByName('shop') as App, output);
        deployed.push(`${prepared.source.kind === 'tree' ? prepared.source.source : 'image'} by ${madeBy.label}`);
        await prepared.release();
        return true;
      } catch (error) {
        output.error((error as Error).message);
        return false;
      }
    },
  } as unknown as Deployer;
  let repoSources!: RepoSources;
  const built = await buildTestApp(t, {
    apps: ['shop', 'plain'],
    replace: (stores) => {
      repoSources = new RepoSources({ apps: stores.apps, sources: stores.repoSources, fetcher, deployer, maxPushBytes: 1024 * 1024, logger: pino({ level: 'silent' }) });
      return { repoSources };
    },
  });
  const { app } = built;
  const setRepo = (body: unknown, name = 'shop') => app.inject({ method: 'PUT', url: `/api/v1/apps/${name}/repo`, headers: admin, payload: body as object });
  const secret = async () => (await app.inject({ method: 'GET', url: '/api/v1/apps/shop/repo/webhook', headers: admin })).json<{ secret: string }>().secret;
  const github = (payload: unknown, key: string, event = 'push', extra: Record<string, string> = {}) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return app.inject({
      method: 'POST',
      url: '/api/v1/apps/shop/hooks/push',
      headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-hub-signature-256': `sha256=${createHmac('sha256', key).update(body).digest('hex')}`, ...extra },
      payload: body,
    });
  };
  return {
    app, host, deployed, setRepo, secret, github, repoSources,
    holdDeploys: () => {
      let release!: () => void;
      hold = new Promise((resolve) => (release = resolve));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

describe('repository URLs over the API', () => {
  it('sets, shows (never the credential or the secret), changes and removes an app\'s repository', async (t) => {
    const { app, setRepo } = await setup(t);
    const set = await setRepo({ url: 'https://git.example.com/acme/shop.git', branch: 'production', credential: 'ghp_topsecret' });
    assert.equal(set.statusCode, 200, set.body);
    const shown = await app.inject({ method: 'GET', url: '/api/v1/apps/shop/repo', headers: admin });
    assert.deepEqual(shown.json(), {
      url: 'https://git.example.com/acme/shop.git', branch: 'production', credential: true, lastSha: null, lastFetchedAt: null, lastError: null, webhookPath: '/api/v1/apps/shop/hooks/push',
    });
    assert.doesNotMatch(set.body + shown.body, /ghp_topsecret/);
    // Another host: the credential is not sent there.
    assert.equal((await setRepo({ url: 'https://other.example.com/shop.git' })).json<{ credential: boolean }>().credential, false);
    assert.equal((await setRepo({ url: 'https://other.example.com/shop.git', credential: 'tok' })).json<{ credential: boolean }>().credential, true);
    assert.equal((await setRepo({ url: 'https://other.example.com/shop.git', branch: 'main' })).json<{ credential: boolean }>().credential, true, 'kept for the same host');
    assert.equal((await setRepo({ url: 'https://other.example.com/shop.git', credential: null })).json<{ credential: boolean }>().credential, false);
    const removed = await app.inject({ method: 'DELETE', url: '/api/v1/apps/shop/repo', headers: admin });
    assert.deepEqual(removed.json(), { removed: 'shop' });
    const gone = await app.inject({ method: 'GET', url: '/api/v1/apps/shop/repo', headers: admin });
    assert.equal(gone.statusCode, 404);
    assert.match(gone.json<{ message: string }>().message, /shop has no repository URL: set one with `pilot apps:repo:set/);
  });

  it('refuses URLs Pilot would not fetch, bad branches and wrong types, creating nothing', async (t) => {
    const { app, setRepo } = await setup(t);
    const cases: [unknown, RegExp][] = [
      [{ url: 'http://git.example.com/a.git' }, /https:\/\/ only, not http/],
      [{ url: 'https://tok:x@git.example.com/a.git' }, /holds a credential/],
      [{ url: 'file:///etc' }, /https:\/\/ only, not file/],
      [{ url: 'https://git.example.com/a.git', branch: '../main' }, /is not a branch name/],
      [{ url: 'https://git.example.com/a.git', branch: 7 }, /body\.branch must be string, got the number 7/],
      [{ url: null }, /body\.url must be string, got null/],
      [{ url: 'https://git.example.com/a.git', credential: 'a\nb' }, /line break/],
      [{ url: 'https://git.example.com/a.git', token: 'x' }, /unknown field "token"/],
    ];
    for (const [body, message] of cases) {
      const answer = await setRepo(body);
      assert.equal(answer.statusCode, 400, JSON.stringify(body));
      assert.match(answer.json<{ message: string }>().message, message);
    }
    const created = await app.inject({ method: 'POST', url: '/api/v1/apps', headers: admin, payload: { name: 'newapp', repo: { url: 'git@github.com:a/b.git' } } });
    assert.equal(created.statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/apps/shop/repo', headers: admin })).statusCode, 404);
  });

  it('git:sync fetches the branch with its credential and deploys its head as a push; a failed fetch records its reason', async (t) => {
    const { app, host, deployed, setRepo } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git', credential: 'tok' });
    const synced = await app.inject({ method: 'POST', url: '/api/v1/apps/shop/repo/sync', headers: admin });
    assert.match(synced.body.replaceAll('\u0000', '<NUL>'), /-----> Fetching main of https:\/\/git\.example\.com\/acme\/shop\.git \(with its credential\)\n {7}main is at 1111111\n<NUL>PILOT-RESULT ok\n$/);
    assert.doesNotMatch(synced.body, /tok\b/);
    assert.deepEqual(host.fetches, ['https://git.example.com/acme/shop.git main tok']);
    // Made by the token that asked for the sync.
    assert.deepEqual(deployed, [`repo https://git.example.com/acme/shop.git ${HEADS[0]} by admin token admin`]);
    host.failWith = new DeployError('PILOT_REPO_FETCH_FAILED', 'cannot fetch main of https://git.example.com/acme/shop.git: there is no branch main');
    const failed = await app.inject({ method: 'POST', url: '/api/v1/apps/shop/repo/sync', headers: admin });
    assert.match(failed.body.replaceAll('\u0000', '<NUL>'), / ! {5}cannot fetch main .*there is no branch main\n<NUL>PILOT-RESULT failed\n$/);
    const shown = (await app.inject({ method: 'GET', url: '/api/v1/apps/shop/repo', headers: admin })).json<{ lastSha: string; lastError: string }>();
    assert.equal(shown.lastSha, HEADS[0], 'the last good fetch stays');
    assert.match(shown.lastError, /there is no branch main/);
    const none = await app.inject({ method: 'POST', url: '/api/v1/apps/plain/repo/sync', headers: admin });
    assert.equal(none.statusCode, 404);
  });
});

describe('the push webhook', () => {
  it('deploys a push to the branch signed with the secret, and refuses a wrong or missing signature with 401, fetching nothing', async (t) => {
    const { app, host, deployed, setRepo, secret, github, repoSources } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    const key = await secret();
    assert.match(key, /^[0-9a-f]{64}$/);
    const push = { ref: 'refs/heads/main', after: HEADS[0] };

    for (const [name, answer] of [
      ['wrong secret', await github(push, 'not the secret')],
      ['no signature', await app.inject({ method: 'POST', url: '/api/v1/apps/shop/hooks/push', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, payload: push })],
      ['no headers at all', await app.inject({ method: 'POST', url: '/api/v1/apps/shop/hooks/push', headers: { 'content-type': 'application/json' }, payload: push })],
      ['an app without a repository', await app.inject({ method: 'POST', url: '/api/v1/apps/plain/hooks/push', headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': key }, payload: push })],
      ['no such app', await app.inject({ method: 'POST', url: '/api/v1/apps/nope/hooks/push', headers: { 'content-type': 'application/json', 'x-gitlab-token': key }, payload: push })],
      ['a bad JSON body with a wrong signature', await github('{not json', 'not the secret')],
    ] as const) {
      assert.equal(answer.statusCode, 401, `${name}: ${answer.body}`);
      assert.equal(answer.json<{ error: string }>().error, 'PILOT_UNAUTHORIZED', name);
    }
    assert.deepEqual(host.fetches, [], 'nothing fetched for a refused webhook');

    const accepted = await github(push, key);
    assert.equal(accepted.statusCode, 202, accepted.body);
    assert.deepEqual(accepted.json(), { result: 'deploying', message: 'fetching main and deploying its head', branch: 'main', sha: HEADS[0] });
    await repoSources.idle();
    // Made by the webhook: no token signed it.
    assert.deepEqual(deployed, [`repo https://git.example.com/acme/shop.git ${HEADS[0]} by push webhook`]);
  });

  it('answers 202 with the reason for another branch, a tag, a deletion and other events, and a ping with 200', async (t) => {
    const { host, setRepo, secret, github } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    const key = await secret();
    const cases: [unknown, string, number, RegExp][] = [
      [{ ref: 'refs/heads/feature/x', after: HEADS[1] }, 'push', 202, /a push to feature\/x, not to main \(the branch shop deploys\): nothing was deployed/],
      [{ ref: 'refs/tags/v1', after: HEADS[1] }, 'push', 202, /refs\/tags\/v1 is not a branch/],
      [{ ref: 'refs/heads/main', after: '0'.repeat(40), deleted: true }, 'push', 202, /the branch shop deploys was deleted: the live release keeps serving/],
      [{ ref: 'old', ref_type: 'branch' }, 'delete', 202, /old was deleted: nothing to do/],
      [{ action: 'opened' }, 'issues', 202, /the event issues is not a push: nothing was deployed/],
      [{ zen: 'Design for failure.', hook_id: 3 }, 'ping', 200, /shop deploys the branch main of https:\/\/git\.example\.com\/acme\/shop\.git on push/],
    ];
    for (const [payload, event, status, message] of cases) {
      const answer = await github(payload, key, event);
      assert.equal(answer.statusCode, status, answer.body);
      assert.match(answer.json<{ message: string }>().message, message);
    }
    assert.deepEqual(host.fetches, []);
  });

  it('refuses wrong types with 400, other media types with 415 and large bodies with 413, deploying nothing', async (t) => {
    const { app, host, setRepo, secret, github } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    const key = await secret();
    for (const [payload, message] of [
      ['{not json', /is not JSON/],
      [{ ref: 5, after: HEADS[0] }, /"ref" must be a string, not number/],
      [{ ref: 'refs/heads/main', after: 'HEAD' }, /"after" must be a commit sha/],
      [[], /must be a JSON object/],
    ] as const) {
      const answer = await github(payload, key);
      assert.equal(answer.statusCode, 400, answer.body);
      assert.match(answer.json<{ message: string }>().message, message);
    }
    const xml = await app.inject({ method: 'POST', url: '/api/v1/apps/shop/hooks/push', headers: { 'content-type': 'text/xml', 'x-github-event': 'push' }, payload: '<push/>' });
    assert.equal(xml.statusCode, 415);
    assert.match(xml.json<{ message: string }>().message, /application\/json/);
    const large = await github({ ref: 'refs/heads/main', after: HEADS[0], padding: 'x'.repeat(6 * 1024 * 1024) }, key);
    assert.equal(large.statusCode, 413);
    assert.match(large.json<{ message: string }>().message, /larger than 5 MB: nothing was deployed/);
    assert.deepEqual(host.fetches, []);
  });

  it('a burst of pushes while a deploy runs deploys once more, at the newest head', async (t) => {
    const { host, deployed, setRepo, secret, github, holdDeploys, repoSources } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    const key = await secret();
    const release = holdDeploys();
    const results: string[] = [];
    for (const head of HEADS) {
      host.head = head;
      results.push((await github({ ref: 'refs/heads/main', after: head }, key)).json<{ result: string }>().result);
    }
    assert.deepEqual(results, ['deploying', 'queued', 'queued', 'queued']);
    release();
    await repoSources.idle();
    // The first deploy fetched when it started (after the burst): the head then; the queued one fetched the newest too.
    assert.equal(deployed.length, 2, deployed.join('\n'));
    assert.deepEqual(deployed, [HEADS[3], HEADS[3]].map((head) => `repo https://git.example.com/acme/shop.git ${head} by push webhook`));
  });

  it('answers 503 once Pilot is stopping, deploying nothing', async (t) => {
    const { host, setRepo, secret, github, repoSources } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    repoSources.stop();
    const answer = await github({ ref: 'refs/heads/main', after: HEADS[0] }, await secret());
    assert.equal(answer.statusCode, 503);
    assert.match(answer.json<{ message: string }>().message, /Pilot is stopping: nothing was deployed/);
    await repoSources.idle();
    assert.deepEqual(host.fetches, []);
  });

  it('rotates the secret: the old one is refused from then on', async (t) => {
    const { app, setRepo, secret, github } = await setup(t);
    await setRepo({ url: 'https://git.example.com/acme/shop.git' });
    const old = await secret();
    const rotated = await app.inject({ method: 'POST', url: '/api/v1/apps/shop/repo/webhook', headers: admin });
    const fresh = rotated.json<{ secret: string }>().secret;
    assert.notEqual(fresh, old);
    assert.equal((await github({ zen: 'x' }, old, 'ping')).statusCode, 401);
    assert.equal((await github({ zen: 'x' }, fresh, 'ping')).statusCode, 200);
    // Changing the URL keeps the secret: the git host's webhook goes on working.
    await setRepo({ url: 'https://git.example.com/acme/shop2.git' });
    assert.equal(await secret(), fresh);
  });
});
