import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/**
 * A gate the builds call from inside their RUN step: each build says it arrived, then waits
 * until the test opens its gate. What is inside the build at a time is then known exactly.
 */
class BuildGate {
  readonly arrived: string[] = [];
  private readonly open = new Set<string>();
  private server: http.Server | undefined;

  async listen(): Promise<number> {
    this.server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://gate');
      const app = url.searchParams.get('app') ?? '';
      if (url.pathname === '/arrive') {
        if (!this.arrived.includes(app)) this.arrived.push(app);
        response.end('ok');
      } else if (url.pathname === '/go' && this.open.has(app)) {
        response.end('go');
      } else {
        response.statusCode = 404;
        response.end('wait');
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '0.0.0.0', resolve));
    return (this.server?.address() as AddressInfo).port;
  }

  release(app: string): void {
    this.open.add(app);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('builds of different apps run in parallel, bounded by PILOT_BUILD_CONCURRENCY (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;
  const gate = new BuildGate();
  let gateUrl: string;

  before(async () => {
    const port = await gate.listen();
    // Build steps run on Docker's default bridge: the host answers at its gateway.
    const gateway = execFileSync('docker', ['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}']).toString().trim();
    gateUrl = `http://${gateway}:${port}`;
    pilot = await startTestPilot({ PILOT_BUILD_CONCURRENCY: '2' });
  });
  after(async () => {
    await pilot?.close();
    await gate.close();
  });

  async function gatedPush(app: string): Promise<GitResult> {
    const client = new GitClient(tempDir(app));
    await client.init();
    await client.commit({
      'index.html': `built ${app}`,
      Dockerfile: [
        `FROM ${pilot.server.config.staticImage}`,
        'COPY index.html /srv/index.html',
        `RUN wget -q -O /dev/null "${gateUrl}/arrive?app=${app}" && until wget -q -O /dev/null "${gateUrl}/go?app=${app}"; do sleep 0.2; done`,
        'EXPOSE 8080',
        'CMD ["caddy", "file-server", "--root", "/srv", "--listen", ":8080"]',
        '',
      ].join('\n'),
    });
    return client.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
  }

  it('runs two builds at once and makes the third wait for a slot, saying so', async () => {
    const pushes = { one: gatedPush('one'), two: gatedPush('two') };
    await waitFor('two builds inside their RUN step at once', async () => (gate.arrived.length === 2 ? true : undefined), 120_000, 100);
    const third = gatedPush('three');
    // The third push gets as far as its build, then holds there: both slots are taken.
    const thirdLog = () => (pilot.server.db.prepare("SELECT r.log FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = 'three'").get() as { log: string } | undefined)?.log ?? '';
    await waitFor('the third push waiting for a build slot', async () => (thirdLog().includes('Waiting for a build slot') ? true : undefined), 60_000, 100);
    assert.deepEqual([...gate.arrived].sort(), ['one', 'two'], 'the third build has not started while two run');

    gate.release('one');
    assert.equal((await pushes.one).code, 0);
    await waitFor('the third build in its RUN step once a slot is free', async () => (gate.arrived.includes('three') ? true : undefined), 120_000, 100);
    gate.release('two');
    gate.release('three');
    const [two, three] = await Promise.all([pushes.two, third]);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(three.code, 0, three.stderr);
    assert.match(three.stderr, /Waiting for a build slot: 2 build\(s\) of other apps running/);
    for (const app of ['one', 'two', 'three']) {
      const answer = await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
      assert.equal(answer.body, `built ${app}`);
    }
  });
});
