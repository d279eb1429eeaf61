import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buildCore, type Core } from '../../helpers/core.js';
import type { DeploySource } from '../../../src/pipeline/deploy.js';
import { DeployError } from '../../../src/domain/errors.js';
import { SOMEONE } from '../../helpers/releases.js';

async function deploy(core: Core, app: string, source: DeploySource): Promise<{ live: boolean; output: string }> {
  const lines: string[] = [];
  const live = await core.deployer.deploySource({ app, source, madeBy: SOMEONE }, (line) => lines.push(line));
  await core.rollout.settle();
  return { live, output: lines.join('\n') };
}

const upload = (digest: string): DeploySource => ({
  kind: 'tree', tar: Readable.from([]), description: `archive sha256:${digest.slice(0, 12)} (zip)`, source: `archive sha256:${digest}`, gitSha: null,
});

describe('deploys without a push: uploads and images through the one build and rollout (fakes)', () => {
  it('records each release source: the commit of a push, the digest of an upload', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const pushed = await core.push('shop', 'c'.repeat(40));
    assert.equal(pushed.live, true, pushed.output);
    const uploaded = await deploy(core, 'shop', upload('d'.repeat(64)));
    assert.equal(uploaded.live, true, uploaded.output);
    assert.match(uploaded.output, /^-----> Receiving archive sha256:dddddddddddd \(zip\) for shop$/m);
    assert.deepEqual(
      core.releases.list(app.id).map((release) => [release.version, release.source, release.gitSha, release.status]).sort(),
      [[1, `git ${'c'.repeat(40)}`, 'c'.repeat(40), 'retired'], [2, `archive sha256:${'d'.repeat(64)}`, null, 'live']],
    );
    assert.deepEqual(core.images.built, ['pt/shop:v1', 'pt/shop:v2']);
  });

  it("runs an image the engine has as the release's, tagged as a built one, with its own command", async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const result = await deploy(core, 'shop', { kind: 'image', image: { name: 'example/prebuilt:1' }, description: 'image example/prebuilt:1' });
    assert.equal(result.live, true, result.output);
    const release = core.releases.live(app.id);
    assert.equal(release?.image, 'pt/shop:v1');
    assert.equal(release?.source, `image example/prebuilt:1@sha256:${'ab'.repeat(32)}`);
    assert.equal(release?.buildpack, null);
    assert.deepEqual(release?.processes, { web: null });
    assert.equal(release?.port, 5000);
    assert.deepEqual(core.images.tagged, [['example/prebuilt:1', 'pt/shop:v1']]);
    assert.deepEqual(core.images.built, [], 'nothing was built');
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
  });

  it('loads a docker save tarball and runs the image it held', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const result = await deploy(core, 'shop', { kind: 'image', image: { archive: Readable.from([Buffer.from('tar')]) }, description: 'image archive sha256:0123' });
    assert.equal(result.live, true, result.output);
    assert.equal(core.releases.live(app.id)?.source, `image example/loaded:2@sha256:${'ab'.repeat(32)}`);
  });

  it('fails an image the engine cannot get, and the live release serves on', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    assert.equal((await core.push('shop')).live, true);
    const result = await deploy(core, 'shop', { kind: 'image', image: { name: 'nowhere/missing:1' }, description: 'image nowhere/missing:1' });
    assert.equal(result.live, false);
    assert.match(result.output, /cannot pull it/);
    assert.match(result.output, /v1 is still serving/);
    assert.equal(core.releases.live(app.id)?.version, 1);
    assert.equal(core.releases.byVersion(app.id, 2)?.status, 'failed');
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
  });

  it('rolls back from an image release to the built one before it, which keeps its source', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    assert.equal((await core.push('shop', 'e'.repeat(40))).live, true);
    assert.equal((await deploy(core, 'shop', { kind: 'image', image: { name: 'example/prebuilt:1' }, description: 'image' })).live, true);
    const from = core.releases.byVersion(app.id, 1);
    assert.ok(from);
    const rolledBack = await core.deployer.changeApp(app, () => ({ commit: () => undefined, release: { kind: 'rollback', from, config: from.config, buildKeys: from.buildKeys, madeBy: SOMEONE } }));
    await core.rollout.settle();
    assert.equal(rolledBack?.status, 'live');
    assert.equal(rolledBack?.image, 'pt/shop:v1');
    assert.equal(rolledBack?.source, `git ${'e'.repeat(40)}`);
    assert.deepEqual(core.runtime.running(), ['v3 web.1 blue']);
  });

  it('answers for an app that does not exist without deploying anything', async () => {
    const core = buildCore();
    const result = await deploy(core, 'ghost', upload('f'.repeat(64)));
    assert.equal(result.live, false);
    assert.match(result.output, /no app named "ghost"/);
  });

  it('deploys what is prepared under the lock (a fetched repository) as a push, and a refused preparation deploys nothing, told to the timeline', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    const sha = 'e'.repeat(40);
    const released: string[] = [];
    const lines: string[] = [];
    const live = await core.deployer.deployPrepared('shop', SOMEONE, async (locked, output) => {
      assert.equal(core.deployer.isDeploying(locked.name), true, 'prepared under the lock');
      output.step('Fetching main of https://git.example.com/shop.git');
      return {
        source: { kind: 'tree', tar: Readable.from([]), description: `${sha.slice(0, 7)} of https://git.example.com/shop.git (main)`, source: `repo https://git.example.com/shop.git ${sha}`, gitSha: sha },
        release: async () => void released.push('removed'),
      };
    }, (line) => lines.push(line));
    await core.rollout.settle();
    assert.equal(live, true, lines.join('\n'));
    assert.equal(lines[0], '-----> Fetching main of https://git.example.com/shop.git');
    assert.equal(core.releases.live(app.id)?.source, `repo https://git.example.com/shop.git ${sha}`);
    assert.deepEqual(released, ['removed']);

    const failed: string[] = [];
    const refused = await core.deployer.deployPrepared('shop', SOMEONE, async () => {
      throw new DeployError('PILOT_REPO_FETCH_FAILED', 'cannot fetch main of https://git.example.com/shop.git: cannot resolve the host git.example.com');
    }, (line) => failed.push(line));
    assert.equal(refused, false);
    assert.deepEqual(failed, [' !     cannot fetch main of https://git.example.com/shop.git: cannot resolve the host git.example.com', ' !     v1 is still serving']);
    assert.equal(core.releases.list(app.id).length, 1, 'no release for a fetch that failed');
    const last = core.events.list({ appId: app.id }, { limit: 1 })[0];
    assert.equal(last?.kind, 'deploy.failed');
    assert.match(last?.message ?? '', /cannot resolve the host git\.example\.com; v1 is still serving/);
  });
});
