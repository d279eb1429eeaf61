import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();
const CUSTOM_DOMAIN = 'www.router-logs.test';

describe('router lines in pilot logs, from Caddy access logs (real Docker, Caddy, git and CLI)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  function api(method: 'POST', url: string, body: object) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, payload: body });
  }

  async function deploy(app: string): Promise<void> {
    const client = new GitClient(tempDir(app));
    await client.init();
    await client.commit({ 'index.html': `site ${app}` });
    const pushed = await client.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
    assert.equal(pushed.code, 0, pushed.stderr);
  }

  const logs = async (args: string[]): Promise<string> => {
    const result = await runPilot(['logs', ...args], tempDir('cli'), { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  it("shows each request to an app's hosts (custom domains too) as a router line in its logs, and in no other app's", async () => {
    await deploy('alpha');
    await deploy('beta');
    assert.equal((await api('POST', '/apps/alpha/domains', { domain: CUSTOM_DOMAIN })).statusCode, 201);
    const get = (host: string, path: string) => httpsGet({ host, port: pilot.httpsPort, path, ca: pilot.caFile });
    assert.equal((await get('alpha.localhost', '/?from=alpha')).status, 200);
    assert.equal((await get(CUSTOM_DOMAIN, '/missing-page')).status, 404);
    assert.equal((await get('beta.localhost', '/?from=beta')).body, 'site beta');

    // Caddy writes an entry once the response is done: the line shows up shortly after.
    const alpha = await waitFor('the router lines of alpha', async () => {
      const printed = await logs(['-a', 'alpha', '-n', '50']);
      return printed.includes('/missing-page') ? printed : undefined;
    });
    const alphaLines = alpha.split('\n').filter((line) => line.includes(' router | '));
    assert.ok(
      alphaLines.some((line) => /^\S+ router \| method=GET path="\/\?from=alpha" host=alpha\.localhost status=200 bytes=\d+ duration=\d+ms client=127\.0\.0\.1 protocol=HTTP\/\S+$/.test(line)),
      alpha,
    );
    assert.ok(alphaLines.some((line) => line.includes(`path="/missing-page" host=${CUSTOM_DOMAIN} status=404`)), 'a custom domain is the app\'s too');
    assert.doesNotMatch(alpha, /from=beta/, "beta's requests are not in alpha's logs");

    const beta = await waitFor('the router line of beta', async () => {
      const printed = await logs(['-a', 'beta', '--ps', 'router', '-n', '50']);
      return printed.includes('from=beta') ? printed : undefined;
    });
    assert.doesNotMatch(beta, /from=alpha|missing-page/, "alpha's requests are not in beta's logs");
    for (const line of beta.trim().split('\n')) assert.match(line, / router \| method=/, '--ps router gives router lines alone');
  });
});
