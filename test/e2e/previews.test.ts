import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();

/** An app that answers with its $BANNER, $GREETING and which branch's code it runs. */
function appFiles(code: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'previewed', version: '1.0.0', scripts: { start: 'node server.js' } }),
    'server.js':
      "require('http').createServer((request, response) => {\n" +
      `  response.end([process.env.BANNER || 'no banner', process.env.GREETING || 'no greeting', ${JSON.stringify(code)}].join(' | '));\n` +
      '}).listen(process.env.PORT);\n',
  };
}

describe('preview apps: a branch push deploys <app>--<branch> at its own URL, deleting the branch destroys it (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;
  const docker = new Docker();

  before(async () => {
    pilot = await startTestPilot();
    client = new GitClient(tempDir('previewed'));
    await client.init();
    await client.commit(appFiles('main code'));
  });
  after(async () => {
    await pilot?.close();
  });

  function push(refspec: string | readonly string[]): Promise<GitResult> {
    const refs = typeof refspec === 'string' ? [refspec] : refspec;
    return client.run(['push', remoteUrl(pilot.server.address, 'shop', pilot.token), ...refs], { timeoutMs: 240_000 });
  }

  async function api<T>(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: unknown): Promise<{ status: number; body: T }> {
    const answer = await pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: answer.statusCode, body: answer.json<T>() };
  }

  function pilotCli(args: string[]) {
    return runPilot(args, client.workDir, { HOME: client.home, PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  }

  async function served(app: string): Promise<{ status: number; body: string }> {
    return httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
  }

  /** Containers, release images and networks the engine holds for an app of this Pilot. */
  async function leftovers(app: string): Promise<{ containers: number; images: number; networks: number }> {
    const instance = pilot.server.config.instance;
    const containers = await docker.listContainers({ all: true, filters: { label: [`pilot.instance=${instance}`, `pilot.app=${app}`] } });
    const images = await docker.listImages({ filters: { reference: [`${instance}/${app}:*`] } });
    const networks = (await docker.listNetworks({ filters: { name: [`${instance}-${app}-net`] } })).filter((network) => network.Name === `${instance}-${app}-net`);
    return { containers: containers.length, images: images.length, networks: networks.length };
  }
  const NOTHING = { containers: 0, images: 0, networks: 0 };

  it('deploys the app from main; a preview branch before previews are enabled deploys nothing', async () => {
    const main = await push('HEAD:refs/heads/main');
    assert.equal(main.code, 0, main.stderr);
    assert.equal((await served('shop')).body, 'no banner | no greeting | main code');
    await client.ok(['checkout', '-b', 'preview/early']);
    const early = await push('HEAD:refs/heads/preview/early');
    assert.equal(early.code, 0, early.stderr);
    assert.match(early.stderr, /Pushed preview\/early: only main deploys, nothing was deployed \(previews are off\)/);
    assert.equal((await api('GET', '/apps/shop--preview-early')).status, 404);
    await client.ok(['checkout', 'main']);
  });

  it("deploys preview/x as shop--preview-x at its own URL through Caddy, with the app's config and the preview overrides", async () => {
    const enabled = await pilotCli(['previews:enable', '-a', 'shop', '--pattern', 'preview/*', '--max', '2']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /Previews: branches matching preview\/\*, at most 2 \(0 now\)/);
    assert.equal((await api('PATCH', '/apps/shop/config', { set: { GREETING: 'hello', BANNER: 'production' } })).status, 200);
    const overrides = await pilotCli(['previews:config:set', 'BANNER=preview build', '-a', 'shop']);
    assert.equal(overrides.code, 0, overrides.stderr);

    await client.ok(['checkout', '-b', 'preview/x']);
    await client.commit(appFiles('branch x code'));
    const pushed = await push('HEAD:refs/heads/preview/x');
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /Creating the preview shop--preview-x of shop from preview\/x/);
    assert.match(pushed.stderr, /https:\/\/shop--preview-x\.localhost/);

    const preview = await waitFor('the preview through Caddy', async () => {
      const answer = await served('shop--preview-x');
      return answer.status === 200 ? answer.body : undefined;
    });
    assert.equal(preview, 'preview build | hello | branch x code');
    assert.equal((await served('shop')).body, 'production | hello | main code', 'the app itself still runs main');

    const listed = await pilotCli(['previews', '-a', 'shop']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /preview\/x\s+shop--preview-x\s+https:\/\/shop--preview-x\.localhost\S*\s+v1\s+\d+[smhd]/);
  });

  it('redeploys the preview when its branch is pushed again', async () => {
    await client.commit(appFiles('branch x code, second push'));
    const pushed = await push('HEAD:refs/heads/preview/x');
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /Redeploying the preview shop--preview-x/);
    assert.equal((await served('shop--preview-x')).body, 'preview build | hello | branch x code, second push');
    const { body } = await api<{ previews: { branch: string; release: { version: number } }[] }>('GET', '/apps/shop/previews');
    assert.deepEqual(body.previews.map((preview) => [preview.branch, preview.release.version]), [['preview/x', 2]]);
  });

  it('refuses one preview too many with the reason in the push output, creating nothing, also within one push', async () => {
    await client.ok(['checkout', '-b', 'preview/y']);
    await client.ok(['branch', 'preview/z']);
    const listRemote = () => client.ok(['ls-remote', remoteUrl(pilot.server.address, 'shop', pilot.token)]);
    const both = await push(['preview/y:refs/heads/preview/y', 'preview/z:refs/heads/preview/z']);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /shop has 1 preview and this push makes 1 more, its limit: nothing was deployed and preview\/z was not pushed/);
    assert.doesNotMatch(await listRemote(), /preview\/[yz]/, 'neither branch was created');
    for (const app of ['shop--preview-y', 'shop--preview-z']) {
      assert.equal((await api('GET', `/apps/${app}`)).status, 404);
      assert.deepEqual(await leftovers(app), NOTHING);
    }

    const second = await push('preview/y:refs/heads/preview/y');
    assert.equal(second.code, 0, second.stderr);
    const third = await push('preview/z:refs/heads/preview/z');
    assert.notEqual(third.code, 0);
    assert.match(third.stderr, /shop has 2 previews, its limit: nothing was deployed and preview\/z was not pushed/);
    assert.equal((await api('GET', '/apps/shop--preview-z')).status, 404);
    assert.doesNotMatch(await listRemote(), /preview\/z/, 'the branch was not created');
    assert.deepEqual(await leftovers('shop--preview-z'), NOTHING);
  });

  it('destroys the preview with its containers, images and route when the branch is deleted', async () => {
    const before = await leftovers('shop--preview-x');
    assert.ok(before.containers > 0 && before.images > 0 && before.networks === 1, JSON.stringify(before));
    const deleted = await push(':refs/heads/preview/x');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Destroying the preview shop--preview-x of preview\/x/);
    assert.equal((await api('GET', '/apps/shop--preview-x')).status, 404);
    await waitFor('the preview removed from the engine', async () => {
      const left = await leftovers('shop--preview-x');
      return left.containers === 0 && left.images === 0 && left.networks === 0 ? true : undefined;
    });
    const gone = await served('shop--preview-x').catch((error: unknown) => ({ status: 0, body: String(error) }));
    assert.notEqual(gone.body, 'preview build | hello | branch x code, second push', 'the URL no longer serves the preview');
    assert.notEqual(gone.status, 200);
    assert.equal((await served('shop')).body, 'production | hello | main code');
    const { body } = await api<{ previews: { branch: string }[] }>('GET', '/apps/shop/previews');
    assert.deepEqual(body.previews.map((preview) => preview.branch), ['preview/y']);
  });

  it('destroys the remaining previews with the app', async () => {
    assert.equal((await leftovers('shop--preview-y')).networks, 1);
    const destroyed = await api('DELETE', '/apps/shop?confirm=shop');
    assert.equal(destroyed.status, 200);
    assert.equal((await api('GET', '/apps/shop--preview-y')).status, 404);
    assert.deepEqual(await leftovers('shop--preview-y'), NOTHING);
  });
});
