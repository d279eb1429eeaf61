import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Docker from 'dockerode';
import { GitClient, httpsGet, integrationSkipReason, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const docker = new Docker();
const KEEP = 2;

/** Garbage collection over many deploys: what the kept releases need stays, nothing else does. */
describe('garbage collection over 20 deploys (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;
  let danglingBefore: Set<string>;

  before(async () => {
    danglingBefore = await danglingImages();
    pilot = await startTestPilot({ PILOT_KEEP_RELEASES: String(KEEP), PILOT_DRAIN_SECONDS: '1' });
  });
  after(async () => {
    await pilot?.close();
  });

  async function danglingImages(): Promise<Set<string>> {
    return new Set((await docker.listImages({ filters: { dangling: ['true'] } })).map((image) => image.Id));
  }

  const push = (client: GitClient, app: string): Promise<GitResult> => pilot.push(client, app);

  /** Tags of the app's release images and the bytes they hold together (shared layers once). */
  async function appImages(app: string): Promise<{ tags: string[]; bytes: number }> {
    const images = await docker.listImages({ filters: { reference: [`${pilot.server.config.instance}/${app}`] } });
    const layers = new Map<string, number>();
    for (const image of images) {
      const history = await docker.getImage(image.Id).history();
      for (const layer of history as { Id: string; Size: number; CreatedBy: string }[]) layers.set(`${layer.Id}|${layer.CreatedBy}`, layer.Size);
    }
    return { tags: images.flatMap((image) => image.RepoTags ?? []).sort(), bytes: [...layers.values()].reduce((sum, size) => sum + size, 0) };
  }

  async function leftovers(): Promise<{ stoppedContainers: number; buildDirs: string[]; newDangling: string[] }> {
    const stopped = await docker.listContainers({ all: true, filters: { label: [`pilot.instance=${pilot.server.config.instance}`], status: ['exited', 'created', 'dead'] } });
    const dangling = [...(await danglingImages())].filter((id) => !danglingBefore.has(id));
    return { stoppedContainers: stopped.length, buildDirs: fs.readdirSync(pilot.server.paths.builds), newDangling: dangling };
  }

  it('keeps only the kept releases of a static site after 20 deploys, with failed builds among them', async () => {
    const client = new GitClient(tempDir('gc-static'));
    await client.init();
    const sizes: number[] = [];
    for (let deploy = 1; deploy <= 20; deploy += 1) {
      if (deploy % 5 === 0) {
        // A Dockerfile whose last step fails: its finished steps must not stay behind.
        await client.commit({ Dockerfile: `FROM ${pilot.server.config.staticImage}\nCOPY index.html /srv/\nRUN echo layer ${deploy} > /srv/layer\nRUN exit 3\n` });
        const failed = await push(client, 'churn');
        assert.notEqual(failed.code, 0, 'the failing build is rejected');
        assert.match(failed.stderr, /build failed/);
        await client.ok(['rm', '--quiet', 'Dockerfile']);
      }
      await client.commit({ 'index.html': `deploy ${deploy} ${'x'.repeat(20_000)}` });
      const result = await push(client, 'churn');
      assert.equal(result.code, 0, `deploy ${deploy} failed:\n${result.stderr}`);
      sizes.push((await appImages('churn')).bytes);
    }
    await pilot.server.deployer.settle();
    const answer = await httpsGet({ host: `churn.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    assert.match(answer.body, /^deploy 20 /);

    const { tags, bytes } = await appImages('churn');
    assert.equal(tags.length, KEEP, `only the ${KEEP} kept releases have images: ${tags.join(', ')}`);
    assert.deepEqual(await leftovers(), { stoppedContainers: 0, buildDirs: [], newDangling: [] });
    // What the kept releases need does not grow with the number of deploys.
    assert.ok(bytes <= Math.max(...sizes.slice(0, 5)) * 1.05, `image bytes after 20 deploys: ${bytes}; after the first five: ${sizes.slice(0, 5).join(', ')}`);
    console.log(`# image bytes of the app after each deploy: ${sizes.join(' ')}`);
  });

  it('keeps the dependency layer for warm rebuilds after old images and failed builds were collected', async () => {
    const client = new GitClient(tempDir('gc-node'));
    await client.init();
    const manifest = { name: 'gc-node', version: '1.0.0', private: true, scripts: { start: 'node server.js' } };
    const server = (text: string) => `require('http').createServer((q, s) => s.end(${JSON.stringify(text)})).listen(process.env.PORT);\n`;
    await client.commit({ 'package.json': JSON.stringify(manifest), 'package-lock.json': JSON.stringify({ name: 'gc-node', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'gc-node', version: '1.0.0' } } }), 'server.js': server('v1') });
    assert.equal((await push(client, 'cached')).code, 0);
    for (const version of ['v2', 'v3', 'v4']) {
      await client.commit({ 'server.js': server(version) });
      const result = await push(client, 'cached');
      assert.equal(result.code, 0, result.stderr);
    }
    // A build that fails after the dependency step, then a good push again.
    await client.commit({ 'package.json': JSON.stringify({ ...manifest, scripts: { ...manifest.scripts, build: 'exit 4' } }) });
    assert.notEqual((await push(client, 'cached')).code, 0);
    await client.commit({ 'package.json': JSON.stringify(manifest), 'server.js': server('v6') });
    const warm = await push(client, 'cached');
    assert.equal(warm.code, 0, warm.stderr);
    await pilot.server.deployer.settle();

    // v1's image (and with it the first build of the dependency layer) was collected long ago.
    assert.equal((await appImages('cached')).tags.length, KEEP);
    assert.match(warm.stderr, /RUN npm ci[^\n]*\nremote:\s+---> Using cache/, `the dependency layer came from the cache:\n${warm.stderr}`);
    const answer = await httpsGet({ host: `cached.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    assert.equal(answer.body, 'v6');
    assert.deepEqual((await leftovers()).newDangling, []);
  });

  it('keeps what a failed build finished, so the push that fixes it installs nothing again', async () => {
    const client = new GitClient(tempDir('gc-fix'));
    await client.init();
    const manifest = { name: 'gc-fix', version: '1.0.0', private: true, scripts: { build: 'node build.js', start: 'node server.js' } };
    const lock = (name: string) => JSON.stringify({ name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name, version: '1.0.0' } } });
    const server = "require('http').createServer((q, s) => s.end(require('fs').readFileSync('built.txt'))).listen(process.env.PORT);\n";
    await client.commit({ 'package.json': JSON.stringify(manifest), 'package-lock.json': lock('gc-fix'), 'server.js': server, 'build.js': "require('fs').writeFileSync('built.txt', 'one')\n" });
    assert.equal((await push(client, 'fixed')).code, 0);
    // A new dependency layer (the manifest changed) and a build that breaks, in one push.
    await client.commit({ 'package.json': JSON.stringify({ ...manifest, description: 'changed' }), 'build.js': 'throw new Error("broken build")\n' });
    const failed = await push(client, 'fixed');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /broken build/);
    assert.ok((await appImages('fixed')).tags.some((tag) => tag.endsWith(':build-cache')), 'the failed build left its finished steps under :build-cache');
    // Retried as it is (a flaky build): it stops at the very same step, and the cache must survive that too.
    await client.ok(['commit', '--quiet', '--allow-empty', '-m', 'retry']);
    const retried = await push(client, 'fixed');
    assert.notEqual(retried.code, 0);
    assert.match(retried.stderr, /RUN npm ci[^\n]*\nremote:\s+---> Using cache/, `the retry reused the failed build's dependency layer:\n${retried.stderr}`);

    await client.commit({ 'build.js': "require('fs').writeFileSync('built.txt', 'two')\n" });
    const fixed = await push(client, 'fixed');
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stderr, /RUN npm ci[^\n]*\nremote:\s+---> Using cache/, `the failed build's dependency layer was reused:\n${fixed.stderr}`);
    const answer = await httpsGet({ host: `fixed.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    assert.equal(answer.body, 'two');
    await pilot.server.deployer.settle();
    assert.ok(!(await appImages('fixed')).tags.some((tag) => tag.endsWith(':build-cache')), 'a good build drops the cache tag');
    assert.deepEqual((await leftovers()).newDangling, []);
  });

  it('keeps the earlier stage of a multi-stage build tagged, never dangling, and removes it with the app', async () => {
    const client = new GitClient(tempDir('gc-stages'));
    await client.init();
    const dockerfile = (text: string) => [
      `FROM ${pilot.server.config.staticImage} AS build`,
      `RUN echo '${text}' > /page.txt`,
      `FROM ${pilot.server.config.staticImage}`,
      'COPY --from=build /page.txt /srv/index.html',
      'EXPOSE 8080',
      'CMD ["caddy", "file-server", "--root", "/srv", "--listen", ":8080"]',
      '',
    ].join('\n');
    for (const text of ['first', 'second', 'third']) {
      await client.commit({ Dockerfile: dockerfile(text) });
      const result = await push(client, 'staged');
      assert.equal(result.code, 0, result.stderr);
    }
    await pilot.server.deployer.settle();
    const answer = await httpsGet({ host: `staged.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    assert.equal(answer.body.trim(), 'third');
    const { tags } = await appImages('staged');
    assert.ok(tags.some((tag) => tag.endsWith(':stage-0')), `the build stage is kept under :stage-0: ${tags.join(', ')}`);
    assert.deepEqual((await leftovers()).newDangling, [], 'no stage of any of the three builds dangles');

    const destroyed = await pilot.server.app.inject({ method: 'DELETE', url: '/api/v1/apps/staged?confirm=staged', headers: { authorization: `Bearer ${pilot.token}` } });
    assert.equal(destroyed.statusCode, 200, destroyed.body);
    assert.deepEqual((await appImages('staged')).tags, []);
    assert.deepEqual((await leftovers()).newDangling, []);
  });
});
