import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DeploySource, SourceDeploy } from '../../../src/pipeline/deploy.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { writeTarGz, writeZip } from '../../helpers/archives.js';

/** A deployer that reads what it is given and says so, as the real one streams its lines. */
function fakeDeployer() {
  const received: { app: string; source: DeploySource; bytes: number; by: string }[] = [];
  return {
    received,
    async deploySource(request: SourceDeploy, write: (line: string) => void): Promise<boolean> {
      let bytes = 0;
      const stream = request.source.kind === 'tree' ? request.source.tar : 'archive' in request.source.image ? request.source.image.archive : undefined;
      if (stream) for await (const chunk of stream) bytes += (chunk as Buffer).length;
      received.push({ app: request.app, source: request.source, bytes, by: request.madeBy.label });
      write(`-----> Receiving ${request.source.description} for ${request.app}`);
      return true;
    },
  };
}

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const deployer = fakeDeployer();
  const built = await buildTestApp(t, { apps: ['shop', 'other'], replace: () => ({ deployer: deployer as never }) });
  const upload = (url: string, type: string, payload: Buffer | string, token = TEST_ADMIN_TOKEN) =>
    built.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': type }, payload });
  return { ...built, deployer, upload };
}

const scratch = (spoolDir: string, name: string) => path.join(fs.mkdtempSync(path.join(path.dirname(spoolDir), 'pilot-deploys-test-')), name);

describe('POST /api/v1/apps/:app/deploys (uploads)', () => {
  it('deploys a .tar.gz through the deployer, streaming its lines and the result, with the digest as the source', async (t) => {
    const { upload, deployer, spoolDir } = await setup(t);
    const file = scratch(spoolDir, 'site.tar.gz');
    await writeTarGz(file, [{ name: 'index.html', content: '<h1>hi</h1>' }]);
    const bytes = fs.readFileSync(file);
    const answer = await upload('/api/v1/apps/shop/deploys', 'application/gzip', bytes);
    assert.equal(answer.statusCode, 200, answer.body);
    assert.match(answer.headers['content-type'] as string, /^text\/plain/);
    const digest = crypto.createHash('sha256').update(bytes).digest('hex');
    assert.equal(answer.body, `-----> Receiving archive sha256:${digest.slice(0, 12)} (tar.gz) for shop\n\u0000PILOT-RESULT ok\n`);
    const [received] = deployer.received;
    assert.equal(received?.source.kind === 'tree' && received.source.source, `archive sha256:${digest}`);
    assert.ok((received?.bytes ?? 0) > 512, 'the deployer read the repacked tar');
    assert.equal(received?.by, 'admin token admin', 'made by the token that uploaded it');
    assert.deepEqual(fs.readdirSync(spoolDir), [], 'the upload is removed once deployed');
  });

  it('refuses a zip-slip .zip with a 400 naming the entry, before the deployer hears of it', async (t) => {
    const { upload, deployer, spoolDir } = await setup(t);
    const file = scratch(spoolDir, 'evil.zip');
    await writeZip(file, [{ name: 'index.html', content: 'ok' }, { name: '../../evil.sh', content: 'rm -rf /' }]);
    const answer = await upload('/api/v1/apps/shop/deploys', 'application/zip', fs.readFileSync(file));
    assert.equal(answer.statusCode, 400, answer.body);
    assert.equal(answer.json<{ message: string }>().message, 'the entry "../../evil.sh" has ".." in its path: nothing was deployed');
    assert.deepEqual(deployer.received, []);
    assert.deepEqual(fs.readdirSync(spoolDir), []);
  });

  it('refuses an upload larger than PILOT_MAX_PUSH_MB, and a body that is not an archive type', async (t) => {
    const { upload, deployer } = await setup(t);
    const tooLarge = await upload('/api/v1/apps/shop/deploys', 'application/gzip', crypto.randomBytes(1024 * 1024 + 1));
    assert.equal(tooLarge.statusCode, 400, tooLarge.body);
    assert.match(tooLarge.json<{ message: string }>().message, /^the upload is larger than 1 MiB \(PILOT_MAX_PUSH_MB\): nothing was deployed$/);
    const json = await upload('/api/v1/apps/shop/deploys', 'application/json', '{}');
    assert.equal(json.statusCode, 400);
    assert.match(json.json<{ message: string }>().message, /send the archive as application\/gzip \(a \.tar\.gz\) or application\/zip/);
    assert.deepEqual(deployer.received, []);
  });

  it("lets a deploy token of the app upload to it, and refuses it another app's", async (t) => {
    const { upload, deployer, deployToken, spoolDir } = await setup(t);
    const file = scratch(spoolDir, 'site.zip');
    await writeZip(file, [{ name: 'index.html', content: 'hi' }]);
    const token = deployToken('shop');
    assert.equal((await upload('/api/v1/apps/shop/deploys', 'application/zip', fs.readFileSync(file), token)).statusCode, 200);
    assert.equal((await upload('/api/v1/apps/other/deploys', 'application/zip', fs.readFileSync(file), token)).statusCode, 403);
    assert.deepEqual(deployer.received.map((received) => received.app), ['shop']);
  });
});

describe('POST /api/v1/apps/:app/deploys/image and /image-archive', () => {
  it('deploys an image by name, and refuses a name docker would not take', async (t) => {
    const { upload, deployer } = await setup(t);
    const answer = await upload('/api/v1/apps/shop/deploys/image', 'application/json', JSON.stringify({ image: 'registry.example.com:5000/team/shop:1.4' }));
    assert.equal(answer.statusCode, 200, answer.body);
    assert.match(answer.body, /PILOT-RESULT ok\n$/);
    assert.deepEqual(deployer.received[0]?.source, { kind: 'image', image: { name: 'registry.example.com:5000/team/shop:1.4' }, description: 'image registry.example.com:5000/team/shop:1.4' });
    const bad = await upload('/api/v1/apps/shop/deploys/image', 'application/json', JSON.stringify({ image: '--help; rm -rf /' }));
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(deployer.received.length, 1);
  });

  it('hands a docker save tarball to the deployer as a stream of the upload', async (t) => {
    const { upload, deployer } = await setup(t);
    const answer = await upload('/api/v1/apps/shop/deploys/image-archive', 'application/x-tar', Buffer.alloc(4096, 1));
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(deployer.received[0]?.bytes, 4096);
    assert.match(deployer.received[0]?.source.kind === 'image' ? deployer.received[0].source.description : '', /^image archive sha256:[0-9a-f]{12}$/);
  });
});
