import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, httpsGet, integrationSkipReason, localImages, remoteUrl, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/** Which pushes deploy, builds that fail or hang, and builds longer than Node's request timeout. */
describe('deploy branches and long or broken builds (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot({ PILOT_BUILD_TIMEOUT: '600' });
  });
  after(async () => {
    await pilot?.close();
  });

  function push(client: GitClient, app: string, ref: string, target = pilot): Promise<GitResult> {
    return client.run(['push', remoteUrl(target.server.address, app, target.token), ref], { timeoutMs: 120_000 });
  }

  async function body(app: string, target = pilot): Promise<string> {
    return (await httpsGet({ host: `${app}.${target.domain}`, port: target.httpsPort, ca: target.caFile })).body;
  }

  it('deploys master when there is no main, lets other branches through, refuses deleting the deploy branch', async () => {
    const client = new GitClient(tempDir('legacy'));
    await client.init('master');
    await client.commit({ 'index.html': 'from master' });
    const pushed = await push(client, 'legacy', 'HEAD:refs/heads/master');
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(await body('legacy'), 'from master');

    await client.commit({ 'index.html': 'from a feature branch' });
    const feature = await push(client, 'legacy', 'HEAD:refs/heads/feature');
    assert.equal(feature.code, 0, feature.stderr);
    assert.doesNotMatch(feature.stderr, /Releasing/);
    assert.match(feature.stderr, /Pushed feature: only master deploys, nothing was deployed/);
    assert.equal(await body('legacy'), 'from master', 'another branch deploys nothing');

    const deleted = await push(client, 'legacy', ':refs/heads/master');
    assert.notEqual(deleted.code, 0);
    assert.match(deleted.stderr, /deleting master is refused: it is the deploy branch of legacy/);
    assert.equal(await body('legacy'), 'from master');
  });

  it("fails a build whose FROM image cannot be found with Docker's own error", async () => {
    const client = new GitClient(tempDir('nofrom'));
    await client.init();
    await client.commit({ Dockerfile: 'FROM pilot-missing/no-such-image:1\nCMD ["true"]\n' });
    const result = await push(client, 'nofrom', 'HEAD:refs/heads/main');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /build failed: .*(pilot-missing\/no-such-image|registry|pull access denied)/);
  });

  it('PILOT_BUILD_TIMEOUT ends a hung build and the live release keeps serving', async () => {
    const quick = await startTestPilot({ PILOT_BUILD_TIMEOUT: '5' });
    try {
      const client = new GitClient(tempDir('hung'));
      await client.init();
      await client.commit({ 'index.html': 'v1' });
      assert.equal((await push(client, 'hung', 'HEAD:refs/heads/main', quick)).code, 0);
      await client.commit({ Dockerfile: `FROM ${localImages().staticImage}\nRUN sleep 120\n` });
      const result = await push(client, 'hung', 'HEAD:refs/heads/main', quick);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /build failed: the build took longer than 5 s \(PILOT_BUILD_TIMEOUT\) and was stopped/);
      assert.match(result.stderr, /v1 is still serving/);
      assert.equal(await body('hung', quick), 'v1');
    } finally {
      await quick.close();
    }
  });

  it("is not cut when a build outlasts Node's 300 s request timeout, pushed through Caddy while Caddy reloads its routes", async () => {
    const client = new GitClient(tempDir('slow'));
    await client.init();
    await client.commit({
      Dockerfile: `FROM ${localImages().staticImage}\nRUN sleep 305\nCOPY index.html /srv/\nEXPOSE 8080\nCMD ["caddy", "file-server", "--root", "/srv", "--listen", ":8080"]\n`,
      'index.html': 'built slowly',
    });
    const base = `https://pilot.${pilot.domain}:${pilot.httpsPort}`;
    const pushing = client.run(
      [
        '-c', `http.sslCAInfo=${pilot.caFile}`,
        '-c', `http.curloptResolve=pilot.${pilot.domain}:${pilot.httpsPort}:127.0.0.1`,
        'push', remoteUrl(base, 'slow', pilot.token), 'HEAD:refs/heads/main',
      ],
      { timeoutMs: 600_000 },
    );
    // Reload the routes a few times while the build runs (a domain added to another app, then removed).
    const headers = { authorization: `Bearer ${pilot.token}` };
    await pilot.server.app.inject({ method: 'POST', url: '/api/v1/apps', headers, payload: { name: 'other' } });
    for (const round of [1, 2, 3]) {
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      const added = await pilot.server.app.inject({ method: 'POST', url: '/api/v1/apps/other/domains', headers, payload: { domain: `r${round}.example.com` } });
      assert.equal(added.statusCode, 201, added.body);
    }
    const result = await pushing;
    assert.equal(result.code, 0, `push failed:\n${result.stderr.slice(-2000)}`);
    assert.match(result.stderr, /RUN sleep 305/);
    assert.equal(await body('slow'), 'built slowly');
  });
});
