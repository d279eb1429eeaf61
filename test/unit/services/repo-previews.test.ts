import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import pino from 'pino';
import { RepoSources } from '../../../src/services/repo-sources.js';
import { DeployOutput } from '../../../src/pipeline/output.js';
import type { PreviewService } from '../../../src/services/previews.js';
import type { RepoSourceStore, RepositoryFetcher } from '../../../src/domain/ports.js';
import type { Deployer, PreparedSource } from '../../../src/pipeline/deploy.js';
import type { App, ReleaseAuthor, RepoSource } from '../../../src/domain/types.js';
import { WEBHOOK_AUTHOR } from '../../../src/domain/release-authors.js';

const SECRET = 'a'.repeat(64);
const SHA = 'b'.repeat(40);
const ZERO = '0'.repeat(40);

/** RepoSources over fakes: one app `shop` deploying main from a repository, previews on for `preview/*`. */
function setup(previewBranches: RegExp = /^preview\//) {
  const shop = { id: 1, name: 'shop' } as App;
  const apps = new Map<string, App>([['shop', shop], ['shop--preview-x', { id: 2, name: 'shop--preview-x' } as App]]);
  const source: RepoSource = {
    appId: 1, url: 'https://git.example/shop.git', branch: 'main', credential: null, webhookSecret: SECRET,
    lastSha: null, lastFetchedAt: null, lastError: null, createdAt: '2026-01-01T00:00:00Z',
  };
  const recorded: string[] = [];
  const sources = { get: (id: number) => (id === 1 ? source : undefined), recordFetch: () => recorded.push('recorded') } as unknown as RepoSourceStore;
  const fetched: string[] = [];
  const fetcher: RepositoryFetcher = {
    async fetchBranch(request) {
      fetched.push(request.branch);
      return { sha: SHA, tar: Readable.from([]), remove: async () => undefined };
    },
  };
  const deployedInto: string[] = [];
  const deployer = {
    async deployPrepared(app: string, madeBy: ReleaseAuthor, prepare: (app: App, output: DeployOutput) => Promise<PreparedSource>, write: (line: string) => void) {
      // Every deploy a webhook starts is the webhook's, a preview's too.
      assert.equal(madeBy, WEBHOOK_AUTHOR);
      deployedInto.push(app);
      const prepared = await prepare(apps.get(app) as App, new DeployOutput(write));
      await prepared.release();
      return true;
    },
  } as unknown as Deployer;
  const calls: string[] = [];
  const previews: Pick<PreviewService, 'decide' | 'branchPushed' | 'branchDeleted' | 'list'> = {
    decide: (_parent, branch) => (previewBranches.test(branch)
      ? { action: 'deploy' as const, name: 'shop--preview-x', existing: false }
      : { action: 'skip', reason: 'previews are off' }),
    async branchPushed(parent, branch, options, write) {
      calls.push(`pushed ${parent.name} ${branch} (deploy branch ${options.deployBranch})`);
      return options.deploy(apps.get('shop--preview-x') as App, write);
    },
    async branchDeleted(parent, branch) {
      calls.push(`deleted ${parent.name} ${branch}`);
      return true;
    },
    list: () => ({ enabled: true, pattern: 'preview/*', maxPreviews: 5, overrideKeys: [], previews: [{ branch: 'preview/x', app: 'shop--preview-x', url: 'https://shop--preview-x.example', release: null, createdAt: '' }] }),
  };
  const repoSources = new RepoSources({
    apps: { findByName: (name: string) => apps.get(name), renamedTo: (name: string) => (name === 'shop-before' ? 'shop' : undefined) }, sources, fetcher, deployer, maxPushBytes: 1024, logger: pino({ level: 'silent' }), previews,
  });
  const push = (payload: object, app = 'shop') => {
    const body = Buffer.from(JSON.stringify(payload));
    return repoSources.receiveWebhook({
      app,
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
      body,
      contentType: 'application/json',
    });
  };
  return { repoSources, push, calls, fetched, deployedInto, recorded };
}

describe('push webhooks of other branches go to the app\'s previews', () => {
  it('a push to a preview branch deploys its head into the preview, without touching the app\'s own fetch record', async () => {
    const { repoSources, push, calls, fetched, deployedInto, recorded } = setup();
    const answer = push({ ref: 'refs/heads/preview/x', after: SHA });
    assert.equal(answer.result, 'deploying');
    assert.equal(answer.branch, 'preview/x');
    await repoSources.idle();
    assert.deepEqual(calls, ['pushed shop preview/x (deploy branch main)']);
    assert.deepEqual(fetched, ['preview/x']);
    assert.deepEqual(deployedInto, ['shop--preview-x']);
    assert.deepEqual(recorded, [], 'the fetch of a preview branch is not the app\'s last fetch');
  });

  it('a push to a branch the previews do not take is 202 with the reason, and nothing is fetched', async () => {
    const { repoSources, push, calls, fetched } = setup();
    const answer = push({ ref: 'refs/heads/feature/y', after: SHA });
    assert.equal(answer.result, 'ignored');
    assert.match(answer.message, /a push to feature\/y, not to main/);
    await repoSources.idle();
    assert.deepEqual([calls, fetched], [[], []]);
  });

  it('deleting a branch that has a preview destroys it; deleting another branch does nothing', async () => {
    const { repoSources, push, calls, fetched } = setup();
    const deleted = push({ ref: 'refs/heads/preview/x', after: ZERO, deleted: true });
    assert.equal(deleted.result, 'deploying');
    assert.match(deleted.message, /destroying the preview shop--preview-x of preview\/x/);
    const other = push({ ref: 'refs/heads/feature/z', after: ZERO, deleted: true });
    assert.equal(other.result, 'ignored');
    await repoSources.idle();
    assert.deepEqual(calls, ['deleted shop preview/x']);
    assert.deepEqual(fetched, []);
  });

  it('a push to the deploy branch still deploys the app itself', async () => {
    const { repoSources, push, calls, deployedInto, recorded } = setup();
    assert.equal(push({ ref: 'refs/heads/main', after: SHA }).result, 'deploying');
    await repoSources.idle();
    assert.deepEqual([calls, deployedInto, recorded], [[], ['shop'], ['recorded']]);
  });

  it("a renamed app's hook still works at its old URL (the host's settings name it), with its secret", async () => {
    const { repoSources, push, deployedInto } = setup();
    assert.equal(push({ ref: 'refs/heads/main', after: SHA }, 'shop-before').result, 'deploying');
    await repoSources.idle();
    assert.deepEqual(deployedInto, ['shop']);
    assert.throws(() => push({ ref: 'refs/heads/main', after: SHA }, 'unknown'), /no app with a repository URL has this webhook/);
  });
});
