import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';
import { startHttpsGitServer, type HttpsGitServer } from '../helpers/https-git-server.js';
import type { ReleaseView, RepoSourceView } from '../../src/domain/shapes.js';

const skip = integrationSkipReason();

const page = (text: string) => ({ 'public/index.html': `<!doctype html><h1>${text}</h1>\n` });

describe('deploys from a repository URL: apps:create --repo, git:sync, push webhooks (real git over HTTPS, Docker, Caddy)', { skip }, () => {
  let gitServer: HttpsGitServer;
  let privateServer: HttpsGitServer;
  let pilot: TestPilot;
  let home: string;
  let repoUrl: string;

  before(async () => {
    gitServer = await startHttpsGitServer();
    privateServer = await startHttpsGitServer({ auth: { user: 'x-access-token', password: 'ghp_e2e_secret_token' } });
    gitServer.createRepository('shop', page('shop v1'));
    privateServer.createRepository('secret', page('private v1'));
    repoUrl = `${gitServer.baseUrl}/shop.git`;
    // One CA file for both test servers: Pilot trusts it as it would a company's own CA.
    const caFile = `${tempDir('repo-ca')}/ca.pem`;
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(caFile, readFileSync(gitServer.caFile, 'utf8') + readFileSync(privateServer.caFile, 'utf8'));
    pilot = await startTestPilot({ PILOT_REPO_CA_FILE: caFile });
    home = tempDir('repo-home');
  });
  after(async () => {
    await pilot?.close();
    await gitServer?.close();
    await privateServer?.close();
  });

  function pilotCli(args: string[], input?: string): Promise<CliResult> {
    return runPilot(args, home, { HOME: home, PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token }, input);
  }

  async function ok(args: string[], input?: string): Promise<string> {
    const result = await pilotCli(args, input);
    assert.equal(result.code, 0, `pilot ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  const releases = async (app: string) => JSON.parse(await ok(['releases', '-a', app, '--json'])) as ReleaseView[];
  const repo = async (app: string) => JSON.parse(await ok(['apps:repo', '-a', app, '--json'])) as RepoSourceView;

  async function assertServes(app: string, text: string): Promise<void> {
    const answer = await pilot.get(app);
    assert.equal(answer.status, 200);
    assert.match(answer.body, new RegExp(text));
  }

  /** POSTs a push event as GitHub sends it, signed with `secret`. */
  async function githubPush(app: string, payload: object, secret: string, event = 'push'): Promise<{ status: number; body: { result?: string; message: string } }> {
    const body = JSON.stringify(payload);
    const response = await fetch(`${pilot.server.address}/api/v1/apps/${app}/hooks/push`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/e2e',
        'x-github-event': event,
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
      body,
    });
    return { status: response.status, body: (await response.json()) as { result?: string; message: string } };
  }

  it('apps:create --repo fetches the branch, deploys its head through the same build and rollout as a push, and serves it over Caddy', async () => {
    const result = await pilotCli(['apps:create', 'shop', '--repo', repoUrl, '--branch', 'main']);
    assert.equal(result.code, 0, `${result.stderr}${result.stdout}`);
    assert.match(result.stdout, new RegExp(`-----> Fetching main of ${repoUrl.replaceAll('.', '\\.')}`));
    assert.match(result.stdout, /-----> Detected static site \(public\/\)/);
    assert.match(result.stdout, /=====> https:\/\/shop\.localhost/);
    await assertServes('shop', 'shop v1');
    const [release] = await releases('shop');
    const head = (await repo('shop')).lastSha as string;
    assert.match(head, /^[0-9a-f]{40}$/);
    assert.equal(release?.source, `repo ${repoUrl} ${head}`);
    assert.equal(release?.gitSha, head);
    const info = await ok(['apps:info', 'shop']);
    assert.match(info, new RegExp(`Repo: +${repoUrl.replaceAll('.', '\\.')}`));
    assert.match(info, new RegExp(`Branch: +main\\nFetched: +${head.slice(0, 7)}`));
    assert.match(info, /Webhook: +http:\/\/127\.0\.0\.1:\d+\/api\/v1\/apps\/shop\/hooks\/push \(secret: pilot git:webhook\)/);
  });

  it('a GitHub push webhook with the right signature deploys the new head; a wrong signature is 401 and changes nothing; another branch is 202', async () => {
    const hook = JSON.parse(await ok(['git:webhook', '-a', 'shop', '--json'])) as { url: string; secret: string };
    assert.equal(hook.url, `${pilot.server.address}/api/v1/apps/shop/hooks/push`);
    const ping = await githubPush('shop', { zen: 'Responsive is better than fast.', hook_id: 1 }, hook.secret, 'ping');
    assert.equal(ping.status, 200);

    const v2 = gitServer.commit('shop', page('shop v2'));
    const accepted = await githubPush('shop', { ref: 'refs/heads/main', before: '0'.repeat(40), after: v2, repository: { full_name: 'acme/shop' } }, hook.secret);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.result, 'deploying');
    await waitFor('v2 served', async () => ((await pilot.get('shop')).body.includes('shop v2') ? true : undefined), 180_000, 500);
    const afterV2 = await releases('shop');
    assert.equal(afterV2[0]?.source, `repo ${repoUrl} ${v2}`);
    assert.equal(afterV2[0]?.status, 'live');

    const v3 = gitServer.commit('shop', page('shop v3'));
    const forged = await githubPush('shop', { ref: 'refs/heads/main', after: v3 }, 'a guessed secret');
    assert.equal(forged.status, 401);
    assert.match(forged.body.message, /X-Hub-Signature-256|x-hub-signature-256/i);
    const unsigned = await fetch(`${pilot.server.address}/api/v1/apps/shop/hooks/push`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, body: JSON.stringify({ ref: 'refs/heads/main', after: v3 }),
    });
    assert.equal(unsigned.status, 401);

    const feature = gitServer.commit('shop', page('feature work'), 'feature/login');
    const other = await githubPush('shop', { ref: 'refs/heads/feature/login', after: feature }, hook.secret);
    assert.equal(other.status, 202);
    assert.equal(other.body.result, 'ignored');
    assert.match(other.body.message, /a push to feature\/login, not to main \(the branch shop deploys\): nothing was deployed/);

    // Nothing was fetched or deployed for those: the last fetch is still v2's, no release was made, v2 serves.
    assert.equal((await repo('shop')).lastSha, v2);
    assert.equal((await releases('shop')).length, afterV2.length);
    await assertServes('shop', 'shop v2');
  });

  it('a burst of pushes deploys once more after the deploy under way, at the newest head', async () => {
    const { secret } = JSON.parse(await ok(['git:webhook', '-a', 'shop', '--json'])) as { secret: string };
    const before = (await releases('shop')).length;
    const heads = ['burst 1', 'burst 2', 'burst 3'].map((text) => gitServer.commit('shop', page(text)));
    const results: (string | undefined)[] = [];
    for (const head of heads) results.push((await githubPush('shop', { ref: 'refs/heads/main', after: head }, secret)).body.result);
    assert.deepEqual(results, ['deploying', 'queued', 'queued']);
    const newest = heads[2] as string;
    const all = await waitFor('two deploys done', async () => {
      const listed = await releases('shop');
      return listed.length === before + 2 && listed.every((release) => release.status !== 'building' && release.status !== 'starting' && release.status !== 'checking') ? listed : undefined;
    }, 180_000, 500);
    assert.deepEqual(all.slice(0, 2).map((release) => release.source), [`repo ${repoUrl} ${newest}`, `repo ${repoUrl} ${newest}`]);
    await assertServes('shop', 'burst 3');
  });

  it('a failing fetch says why and keeps the live release serving; a private repository deploys with a credential that never shows', async () => {
    await ok(['apps:repo:set', repoUrl, '--branch', 'no-such-branch', '-a', 'shop']);
    const missing = await pilotCli(['git:sync', '-a', 'shop']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout, /! +cannot fetch no-such-branch of .*: there is no branch no-such-branch in the repository/);
    assert.match(missing.stdout, /! +v\d+ is still serving/);
    await assertServes('shop', 'burst 3');

    const secretUrl = `${privateServer.baseUrl}/secret.git`;
    await ok(['apps:create', 'vault', '--no-sync']);
    await ok(['apps:repo:set', secretUrl, '-a', 'vault']);
    const refused = await pilotCli(['git:sync', '-a', 'vault']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /asks for a credential: the repository is private or does not exist; give one with `pilot apps:repo:set URL --credential-stdin`/);

    await ok(['apps:repo:set', secretUrl, '--credential-stdin', '-a', 'vault'], 'ghp_e2e_secret_token\n');
    const synced = await pilotCli(['git:sync', '-a', 'vault']);
    assert.equal(synced.code, 0, `${synced.stderr}${synced.stdout}`);
    await assertServes('vault', 'private v1');
    const shown = await ok(['apps:info', 'vault', '--json']);
    assert.match(shown, /"credential": ?true/);
    for (const text of [synced.stdout, synced.stderr, shown, await ok(['apps:repo', '-a', 'vault']), JSON.stringify(await releases('vault'))]) {
      assert.doesNotMatch(text, /ghp_e2e_secret_token/);
    }
    // Basic auth as git sends it, to that host only; the public server never saw it.
    assert.ok(privateServer.authorizations.includes(`Basic ${Buffer.from('x-access-token:ghp_e2e_secret_token').toString('base64')}`));
    assert.ok(gitServer.authorizations.every((header) => header === undefined));
  });
});
