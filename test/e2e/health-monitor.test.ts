import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/**
 * A web process that answers `/` with its container's hostname, and `/health` with 200 until
 * /tmp/unhealthy exists in its container (then 500): one process can be made to fail alone.
 */
const APP = {
  'package.json': JSON.stringify({ name: 'health-monitor-app', version: '1.0.0' }),
  Procfile: 'web: node web.js\n',
  'app.json': JSON.stringify({ healthchecks: { web: [{ path: '/health' }] } }),
  'web.js':
    "const fs = require('fs');\n" +
    "require('http').createServer((request, response) => {\n" +
    "  if (request.url === '/health') { response.statusCode = fs.existsSync('/tmp/unhealthy') ? 500 : 200; response.end(); return; }\n" +
    "  response.end(require('os').hostname());\n" +
    '}).listen(process.env.PORT);\n',
};

interface Process {
  type: string;
  index: number | null;
  container: string | null;
  health: string;
}

describe('health monitoring of a live app (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;
  const docker = new Docker();

  before(async () => {
    pilot = await startTestPilot({ PILOT_HEALTH_INTERVAL: '1', PILOT_UNHEALTHY_AFTER: '2' });
  });
  after(async () => {
    await pilot?.close();
  });

  const api = async <T>(method: 'GET' | 'POST', url: string, payload?: object): Promise<T> => {
    const answer = await pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(payload ? { payload } : {}) });
    assert.ok(answer.statusCode < 300, `${method} ${url}: ${answer.statusCode} ${answer.body}`);
    return answer.json() as T;
  };
  const processes = () => api<Process[]>('GET', '/apps/hm/ps');
  const eventsOf = async () => (await api<{ kind: string; process: string | null; message: string }[]>('GET', '/apps/hm/events')).map((event) => `${event.kind} ${event.process ?? ''}`.trim());
  async function exec(container: string, command: string[]): Promise<void> {
    const run = await docker.getContainer(container).exec({ Cmd: command });
    const stream = await run.start({});
    await new Promise((resolve) => { stream.on('end', resolve); stream.on('close', resolve); stream.resume(); });
  }
  const hostnameOf = async (container: string) => (await docker.getContainer(container).inspect()).Config.Hostname;

  it('takes a web process that starts failing its check out of the route while the other serves, restarts it, and routes it again once it passes', async () => {
    // A webhook receiver on this machine, told of health changes by the running Pilot.
    const received: { kind: string; text: string }[] = [];
    const receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body) as { kind: string; text: string });
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    after(() => new Promise((resolve) => receiver.close(resolve)));
    await api('POST', '/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['process.unhealthy', 'process.recovered'] });
    const client = new GitClient(tempDir('health-monitor'));
    await client.init();
    await client.commit(APP);
    const pushed = await pilot.push(client, 'hm');
    assert.equal(pushed.code, 0, pushed.stderr);
    await api('POST', '/apps/hm/ps/scale', { web: 2 });
    const [web1, web2] = await processes();
    const [host1, host2] = [await hostnameOf(web1!.container!), await hostnameOf(web2!.container!)];
    await waitFor('both processes checked healthy', async () => ((await processes()).every((process) => process.health === 'healthy') ? true : undefined));

    await exec(web2!.container!, ['touch', '/tmp/unhealthy']);
    await waitFor('web.2 shown unhealthy', async () => ((await processes())[1]?.health === 'unhealthy' ? true : undefined));
    assert.equal((await processes())[0]?.health, 'healthy');
    const web2Address = (await docker.getContainer(web2!.container!).inspect()).NetworkSettings.Networks;
    const address = Object.values(web2Address).map((network) => network.IPAddress).find((ip) => ip !== '');
    await waitFor('Caddy no longer routing to web.2', async () => ((await pilot.server.caddyAdmin.upstreams()).some((upstream) => upstream.startsWith(`${address}:`)) ? undefined : true));
    const answers = await Promise.all(Array.from({ length: 20 }, () => pilot.get('hm')));
    assert.deepEqual(new Set(answers.map((answer) => `${answer.status} ${answer.body}`)), new Set([`200 ${host1}`]), 'every request is served by web.1');
    assert.ok((await eventsOf()).includes('process.unhealthy web.2'));
    // Recorded once the restart is done (a process that ignores SIGTERM takes PILOT_STOP_TIMEOUT).
    await waitFor('the unhealthy process restarted', async () => ((await eventsOf()).includes('restart web.2') ? true : undefined));

    await exec(web2!.container!, ['rm', '-f', '/tmp/unhealthy']);
    await waitFor('web.2 healthy again', async () => ((await processes())[1]?.health === 'healthy' ? true : undefined));
    await waitFor('a request served by web.2 again', async () => ((await pilot.get('hm')).body === host2 ? true : undefined));
    assert.ok((await eventsOf()).includes('process.recovered web.2'));
    await waitFor('the webhook told of both', async () => (received.length >= 2 ? true : undefined));
    assert.deepEqual(received.map((payload) => payload.kind), ['process.unhealthy', 'process.recovered']);
    assert.match(received[0]!.text, /^hm: web\.2 of v1 is unhealthy: GET \/health answered 500/);
  });
});
