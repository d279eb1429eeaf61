import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { EventView, NodeView } from '../../src/domain/shapes.js';
import { freePort, integrationSkipReason, localImages, tempDir, testInstanceName, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';
import { loadIntoManager, swarmCluster, type SwarmCluster, type SwarmNode } from '../helpers/swarm-cluster.js';

const skip = integrationSkipReason();

describe('swarm mode: the nodes of a real three-node swarm (Docker-in-Docker)', { skip }, () => {
  let cluster: SwarmCluster;
  let pilot: TestPilot;
  let webhook: http.Server;
  const delivered: { kind: string; message: string }[] = [];
  const home = tempDir('swarm-cli-home');

  before(async () => {
    cluster = await swarmCluster();
    await cluster.waitReady();
    // Swarm mode runs Pilot's Caddy as a container on the manager (docs/swarm.md): its image, and its admin where this host reaches it.
    const { staticImage } = localImages();
    await loadIntoManager(cluster, staticImage);
    pilot = await startTestPilot({
      DOCKER_HOST: await cluster.managerEngine(),
      PILOT_SCHEDULER: 'swarm',
      PILOT_CADDY_IMAGE: staticImage,
      PILOT_SWARM_CADDY_ADMIN: `${await cluster.address(cluster.manager)}:${await freePort()}`,
    });
    webhook = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        delivered.push(JSON.parse(body) as { kind: string; message: string });
        response.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await pilot?.close();
    webhook?.close();
    // The run's other swarm tests get the cluster whole again.
    for (const node of cluster?.nodes ?? []) await cluster.start(node).catch(() => undefined);
    await cluster?.waitReady();
  });

  const pilotCli = (...args: string[]): Promise<CliResult> => runPilot(args, home, { HOME: home, PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  async function ok(...args: string[]): Promise<string> {
    const result = await pilotCli(...args);
    assert.equal(result.code, 0, `pilot ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  }
  const nodes = async (): Promise<NodeView[]> => JSON.parse(await ok('nodes', '--json')) as NodeView[];
  const nodeNamed = async (node: SwarmNode): Promise<NodeView> => {
    const found = (await nodes()).find((candidate) => candidate.hostname === node.hostname);
    assert.ok(found, `${node.hostname} in pilot nodes`);
    return found;
  };
  const serverEvents = async (): Promise<EventView[]> =>
    (await ok('events', '--json', '-n', '200')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as EventView);

  it('refuses to start in swarm mode on an engine that is no manager, saying what to do', async () => {
    const worker = cluster.workers[0] as SwarmNode;
    await assert.rejects(
      startTestPilot({ DOCKER_HOST: `tcp://${await cluster.address(worker)}:2375`, PILOT_SCHEDULER: 'swarm' }),
      /PILOT_SCHEDULER=swarm, but the Docker engine at tcp:\/\/\S+ is a worker of its swarm: run Pilot on a manager/,
    );
  });

  it('pilot nodes lists the three nodes Ready, with their roles and addresses', async () => {
    const listed = await nodes();
    assert.deepEqual(listed.map((node) => node.hostname).sort(), cluster.nodes.map((node) => node.hostname).sort());
    for (const node of cluster.nodes) {
      const view = listed.find((candidate) => candidate.hostname === node.hostname) as NodeView;
      assert.equal(view.state, 'ready', `${node.hostname}: ${JSON.stringify(view)}`);
      assert.equal(view.availability, 'active');
      assert.equal(view.role, node.role);
      assert.equal(view.leader, node.role === 'manager');
      assert.equal(view.address, await cluster.address(node));
      assert.ok(Number.isInteger(view.runningTasks) && view.runningTasks >= 0);
      assert.match(view.id, /^[a-z0-9]{25}$/);
    }
    const table = await ok('nodes');
    for (const node of cluster.nodes) assert.match(table, new RegExp(`${node.hostname}\\s+\\S+\\s+${node.role}`));
  });

  it('nodes:join-command prints the engine\'s own join line for a worker, and with --manager for a manager', async () => {
    const manager = `${await cluster.address(cluster.manager)}:2377`;
    for (const [args, role] of [[[], 'worker'], [['--manager'], 'manager']] as const) {
      const token = (await cluster.docker(cluster.manager, ['swarm', 'join-token', '-q', role])).trim();
      assert.equal((await ok('nodes:join-command', ...args)).trim(), `docker swarm join --token ${token} ${manager}`);
    }
  });

  it("counts each node's running tasks; a drained worker's task goes away, and comes back once it is active", async () => {
    const worker = cluster.workers[0] as SwarmNode;
    const image = localImages().staticImage;
    await cluster.loadImage(image);
    // One task on every node that takes tasks.
    const service = `${testInstanceName()}-everywhere`;
    await cluster.docker(cluster.manager, ['service', 'create', '--detach', '--name', service, '--mode', 'global', image, 'sleep', '3600']);
    try {
      const tasksBy = async () => Object.fromEntries((await nodes()).map((node) => [node.hostname, node.runningTasks]));
      const allOne = Object.fromEntries(cluster.nodes.map((node) => [node.hostname, 1]));
      await waitFor('a running task on every node', async () => (isDeepStrictEqual(await tasksBy(), allOne) ? true : undefined), 60_000, 1000);

      const availability = async () => (await cluster.docker(cluster.manager, ['node', 'inspect', '-f', '{{.Spec.Availability}}', worker.hostname])).trim();
      assert.match(await ok('nodes:drain', worker.hostname), new RegExp(`Node ${worker.hostname} \\(\\w+\\) is drained`));
      assert.equal(await availability(), 'drain');
      assert.equal((await nodeNamed(worker)).availability, 'drain');
      await waitFor(`no task left on ${worker.hostname}`, async () => ((await tasksBy())[worker.hostname] === 0 ? true : undefined), 60_000, 1000);
      assert.deepEqual(await tasksBy(), { ...allOne, [worker.hostname]: 0 });

      await ok('nodes:activate', (await nodeNamed(worker)).id);
      assert.equal(await availability(), 'active');
      assert.equal((await nodeNamed(worker)).availability, 'active');
      await waitFor(`a task on ${worker.hostname} again`, async () => ((await tasksBy())[worker.hostname] === 1 ? true : undefined), 60_000, 1000);
    } finally {
      await cluster.docker(cluster.manager, ['service', 'rm', service]);
    }
    const unknown = await pilotCli('nodes:drain', 'no-such-node');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no node "no-such-node": the nodes are/);
  });

  it('a worker whose machine stops is node.down in pilot events and webhooks, and node.up once it is back', async () => {
    const worker = cluster.workers[1] as SwarmNode;
    await ok('webhooks:add', `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/`, '--events', 'node.down,node.up');
    const told = async (kind: string) => (await serverEvents()).filter((event) => event.kind === kind && event.app === null && event.message.includes(worker.hostname));
    assert.deepEqual(await told('node.down'), []);

    await cluster.stop(worker);
    const down = await waitFor('node.down in pilot events', async () => (await told('node.down'))[0], 90_000, 1000);
    assert.match(down.message, new RegExp(`node ${worker.hostname} \\(worker\\) is down`));
    assert.equal((await nodeNamed(worker)).state, 'down');

    await cluster.start(worker);
    const up = await waitFor('node.up in pilot events', async () => (await told('node.up'))[0], 90_000, 1000);
    assert.match(up.message, new RegExp(`node ${worker.hostname} \\(worker\\) is ready again`));
    assert.ok(up.id > down.id);
    assert.equal((await nodeNamed(worker)).state, 'ready');
    // Told once each, though the engine sends its node events more than once.
    assert.equal((await told('node.down')).length, 1);
    assert.equal((await told('node.up')).length, 1);
    await waitFor('both delivered to the webhook', async () => (delivered.length >= 2 ? true : undefined), 30_000);
    assert.deepEqual(delivered.map((event) => event.kind), ['node.down', 'node.up']);
  });
});
