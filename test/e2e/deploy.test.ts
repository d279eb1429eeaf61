import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { GitClient, httpsGet, integrationSkipReason, localImages, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

describe('git push deploys (real Docker, Caddy and git, through Caddy over HTTPS)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  /** A push straight to Pilot's HTTP port. */
  function push(client: GitClient, app: string): Promise<GitResult> {
    return client.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
  }

  /** A push through Caddy: https://pilot.<domain>/<app>.git with the test CA. */
  function pushThroughCaddy(client: GitClient, app: string): Promise<GitResult> {
    const base = `https://pilot.${pilot.domain}:${pilot.httpsPort}`;
    return client.run([
      '-c', `http.sslCAInfo=${pilot.caFile}`,
      '-c', `http.curloptResolve=pilot.${pilot.domain}:${pilot.httpsPort}:127.0.0.1`,
      'push', remoteUrl(base, app, pilot.token), 'HEAD:refs/heads/main',
    ]);
  }

  function get(app: string, urlPath = '/') {
    return httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, path: urlPath, ca: pilot.caFile });
  }

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  }

  function assertRejected(result: GitResult, message: RegExp): void {
    assert.notEqual(result.code, 0, `push should have been rejected:\n${result.stderr}`);
    assert.match(result.stderr, /\[remote rejected\] HEAD -> main \(pre-receive hook declined\)/);
    assert.match(result.stderr, message);
  }

  function copyFixture(name: string, client: GitClient): void {
    fs.cpSync(path.join(FIXTURES, name), client.workDir, { recursive: true });
  }

  it('deploys a static site pushed through Caddy and serves it over HTTPS with gzip and 404s', async () => {
    const client = new GitClient(tempDir('static'));
    await client.init();
    await client.commit({
      'public/index.html': '<!doctype html><h1>static v1</h1>' + ' '.repeat(2000),
      'public/style.css': 'body { color: red; }',
    });
    const result = await pushThroughCaddy(client, 'site');
    assertPushed(result);
    assert.match(result.stderr, /remote: -----> Detected static site \(public\/\)/);
    assert.match(result.stderr, /remote: -----> Health check passed \(\d+ attempts, [\d.]+ s\)/);
    assert.match(result.stderr, /remote: -----> Switched traffic to v1/);
    assert.match(result.stderr, new RegExp(`remote: =====> https://site\\.localhost:${pilot.httpsPort}`));

    const page = await get('site');
    assert.equal(page.status, 200);
    assert.match(page.body, /static v1/);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const css = await get('site', '/style.css');
    assert.match(String(css.headers['content-type']), /text\/css/);
    assert.equal((await get('site', '/missing.html')).status, 404);
    const gzipped = await httpsGet({
      host: `site.${pilot.domain}`,
      port: pilot.httpsPort,
      ca: pilot.caFile,
      headers: { 'Accept-Encoding': 'gzip' },
    });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
  });

  it('deploys a Node app with a real dependency and a build script using a dev dependency', async () => {
    const client = new GitClient(tempDir('node'));
    await client.init();
    copyFixture('node-app', client);
    await client.commit({});
    const result = await push(client, 'nodeapp');
    assertPushed(result);
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node 20, npm ci\)/);
    const page = await get('nodeapp');
    assert.equal(page.status, 200);
    assert.equal(page.body, 'hello from v1 | ms: 1m | built: true | dev pruned: true | env: production');
  });

  it('redeploys with no failed request and reuses the dependency layer when only a source file changed', async () => {
    const client = new GitClient(tempDir('node-redeploy'));
    await client.init();
    copyFixture('node-app', client);
    await client.commit({});
    assertPushed(await push(client, 'zero'));
    assert.match((await get('zero')).body, /hello from v1/);

    await client.commit({ 'message.js': "module.exports = 'hello from v2';" }, 'v2');
    let stop = false;
    const counts = { ok: 0, failed: [] as string[] };
    const load = (async () => {
      while (!stop) {
        try {
          const answer = await get('zero');
          if (answer.status === 200) counts.ok += 1;
          else counts.failed.push(`status ${answer.status}`);
        } catch (error) {
          counts.failed.push(String(error));
        }
      }
    })();
    const result = await push(client, 'zero');
    // Keep the load on through the drain and retirement of v1.
    await waitFor('v2 serving', async () => ((await get('zero')).body.includes('hello from v2') ? true : undefined));
    await pilot.server.deployer.settle();
    stop = true;
    await load;

    assertPushed(result);
    assert.ok(counts.ok > 10, `the load loop made only ${counts.ok} requests`);
    assert.deepEqual(counts.failed, [], `failed requests during the redeploy: ${counts.failed.slice(0, 5).join('; ')}`);
    // The classic builder prints "Using cache" for a step whose layer it reused.
    assert.match(result.stderr, /RUN npm ci\s*\nremote:\s+---> Using cache/);
    assert.match(result.stderr, /remote: -----> Retiring v1/);
    const containers = execFileSync('docker', ['ps', '-a', '--filter', `label=pilot.app=zero`, '--filter', `label=pilot.instance=${pilot.server.config.instance}`, '--format', '{{.Labels}}'])
      .toString()
      .trim()
      .split('\n');
    assert.equal(containers.length, 1, 'only the new release runs after retirement');
    assert.match(containers[0] ?? '', /pilot\.release=2/);
  });

  it('deploys a Dockerfile app on its EXPOSEd port', async () => {
    const client = new GitClient(tempDir('dockerfile'));
    await client.init();
    await client.commit({
      Dockerfile: `FROM ${localImages().nodeImage}\nCOPY server.js /srv/server.js\nEXPOSE 8080\nCMD ["node", "/srv/server.js"]\n`,
      'server.js': "require('http').createServer((q, s) => s.end('dockerfile app on ' + 8080)).listen(8080);\n",
    });
    const result = await push(client, 'docker-app');
    assertPushed(result);
    assert.match(result.stderr, /remote: -----> Detected Dockerfile app/);
    assert.equal((await get('docker-app')).body, 'dockerfile app on 8080');
  });

  it('serializes pushes to one app: the waiting push says so and is refused when main moved meanwhile', async () => {
    const first = new GitClient(tempDir('serial-a'));
    await first.init();
    await first.commit({ 'index.html': 'serial v1' });
    assertPushed(await push(first, 'serial'));
    const second = new GitClient(tempDir('serial-b'));
    fs.cpSync(first.workDir, second.workDir, { recursive: true });

    // A build step that takes a while keeps the first deploy busy when the second push arrives. Its
    // own text in every run: a layer an earlier run left in the engine's cache would take no time.
    await first.commit({ Dockerfile: `FROM ${localImages().nodeImage}\nRUN echo ${randomUUID()} > /dev/null && sleep 4\nCOPY index.html /srv/\nEXPOSE 8080\nCMD ["node", "-e", "require('http').createServer((q, s) => s.end('serial v2')).listen(8080)"]\n` });
    await second.commit({ 'index.html': 'serial from the second pusher' });
    const firstPush = push(first, 'serial');
    await waitFor('the first deploy to start building', async () => {
      const row = pilot.server.db.prepare("SELECT status FROM releases WHERE version = 2 AND app_id = (SELECT id FROM apps WHERE name = 'serial')").get() as { status: string } | undefined;
      return row?.status === 'building' ? true : undefined;
    });
    const secondResult = await push(second, 'serial');
    assertPushed(await firstPush);

    assertRejected(secondResult, /Waiting for the deploy in progress on serial to finish/);
    assert.match(secondResult.stderr, /main moved while you waited; pull and push again/);
    assert.equal((await get('serial')).body, 'serial v2');
    const versions = pilot.server.db.prepare("SELECT version FROM releases WHERE app_id = (SELECT id FROM apps WHERE name = 'serial') ORDER BY version").all();
    assert.deepEqual(versions, [{ version: 1 }, { version: 2 }], 'the refused push created no release');
  });

  it('rejects broken pushes with a clear message and keeps v1 serving', async () => {
    const client = new GitClient(tempDir('failing'));
    await client.init();
    await client.commit({ 'index.html': 'good v1' });
    assertPushed(await push(client, 'steady'));
    assert.equal((await get('steady')).body, 'good v1');

    await client.commit({ 'index.html': '', 'package.json': '{"scripts": {"start": "node crash.js"}}', 'crash.js': "console.error('boom at start'); process.exit(3);" });
    let result = await push(client, 'steady');
    assertRejected(result, /health check failed: the app exited with code 3/);
    assert.match(result.stderr, /boom at start/);
    assert.match(result.stderr, /v1 is still serving/);
    assert.equal((await get('steady')).body, 'good v1');

    await client.commit({
      'crash.js': "require('http').createServer((q, s) => { s.statusCode = q.url === '/health' ? 500 : 200; s.end('x'); }).listen(process.env.PORT);",
      'app.json': '{"healthchecks": {"web": [{"type": "startup", "path": "/health"}]}}',
    });
    result = await push(client, 'steady');
    assertRejected(result, /health check failed: GET \/health answered 500 after \d+ attempts/);
    assert.equal((await get('steady')).body, 'good v1');

    await client.commit({ Dockerfile: `FROM ${localImages().nodeImage}\nRUN echo compiling && exit 3\n` });
    result = await push(client, 'steady');
    assertRejected(result, /build failed: The command '\/bin\/sh -c echo compiling && exit 3' returned a non-zero code: 3/);
    assert.equal((await get('steady')).body, 'good v1');

    await client.ok(['rm', '-q', '-r', '.']);
    await client.commit({ 'README.md': 'nothing to build here' });
    result = await push(client, 'steady');
    assertRejected(result, /cannot tell how to build this app: looked for a Dockerfile/);
    assert.equal((await get('steady')).body, 'good v1');

    await client.commit({ 'package.json': '{ not json' });
    result = await push(client, 'steady');
    assertRejected(result, /package\.json is not valid JSON/);

    const bare = path.join(pilot.server.paths.repositories, 'steady.git');
    const statuses = pilot.server.db.prepare("SELECT version, status FROM releases WHERE app_id = (SELECT id FROM apps WHERE name = 'steady') ORDER BY version").all();
    assert.deepEqual(statuses, [
      { version: 1, status: 'live' },
      { version: 2, status: 'failed' },
      { version: 3, status: 'failed' },
      { version: 4, status: 'failed' },
      { version: 5, status: 'failed' },
      { version: 6, status: 'failed' },
    ]);
    const head = execFileSync('git', ['-C', bare, 'rev-parse', 'refs/heads/main']).toString().trim();
    const firstCommit = (await client.ok(['rev-list', '--max-parents=0', 'HEAD'])).trim();
    assert.equal(head, firstCommit, 'main stays at the last good deploy');
  });

  it('answers 401 to a raw git-receive-pack POST without credentials and changes no ref', async () => {
    const client = new GitClient(tempDir('raw'));
    await client.init();
    await client.commit({ 'index.html': 'raw v1' });
    assertPushed(await push(client, 'guarded'));
    const bare = path.join(pilot.server.paths.repositories, 'guarded.git');
    const before = execFileSync('git', ['-C', bare, 'rev-parse', 'refs/heads/main']).toString().trim();
    // A pkt-line command that would delete main.
    const command = `${before} ${'0'.repeat(40)} refs/heads/main\0 report-status\n`;
    const body = (command.length + 4).toString(16).padStart(4, '0') + command + '0000';
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        `${pilot.server.address}/guarded.git/git-receive-pack`,
        { method: 'POST', headers: { 'Content-Type': 'application/x-git-receive-pack-request' } },
        (answer) => {
          let text = '';
          answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
    assert.equal(response.status, 401);
    assert.match(response.body, /authentication required/);
    assert.equal(execFileSync('git', ['-C', bare, 'rev-parse', 'refs/heads/main']).toString().trim(), before);
  });
});
