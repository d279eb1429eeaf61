import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { GitClient, integrationSkipReason, remoteUrl, tempDir, waitFor } from '../helpers/integration.js';
import type { TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';
import { swarmCluster, type SwarmCluster } from '../helpers/swarm-cluster.js';
import { sh, startSwarmPilot, type SwarmPilot } from '../helpers/swarm-pilot.js';

const skip = integrationSkipReason();
const APP = 'spread';

const server = (version: string, healthy = true) => `
const http = require('node:http');
const os = require('node:os');
const server = http.createServer((request, response) => {
  if (request.url === '/health' && ${!healthy}) { response.statusCode = 500; return response.end('sick'); }
  response.end('${version} ' + os.hostname());
});
server.keepAliveTimeout = 1000;
server.listen(Number(process.env.PORT), () => console.log('listening on ' + os.hostname()));
// Graceful: finish what runs, then go (the drain shim sends this once Caddy no longer routes here).
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

function appFiles(version: string, options: { healthy?: boolean; release?: string } = {}): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: APP, version: '1.0.0', scripts: { start: 'node server.js' } }),
    'server.js': server(version, options.healthy ?? true),
    'app.json': JSON.stringify({ formation: { web: { quantity: 3 } }, healthchecks: { web: [{ type: 'startup', path: '/health', attempts: 3 }] } }),
    Procfile: `web: node server.js\n${options.release ? `release: ${options.release}\n` : ''}`,
  };
}

describe('swarm mode: apps as Swarm services across a real three-node swarm (Docker-in-Docker)', { skip }, () => {
  let cluster: SwarmCluster;
  let swarm: SwarmPilot;
  let pilot: TestPilot;
  let client: GitClient;
  const home = tempDir('swarm-apps-home');

  before(async () => {
    cluster = await swarmCluster();
    await cluster.waitReady();
    swarm = await startSwarmPilot(cluster);
    pilot = swarm.pilot;
    client = new GitClient(tempDir('swarm-apps'));
    await client.init();
  });

  after(async () => {
    await swarm?.close();
  });

  const pilotCli = (...args: string[]): Promise<CliResult> => runPilot(args, home, { HOME: home, PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });

  const get = (app = APP) => swarm.get(app);
  const webTasks = () => swarm.webTasks(APP);
  const serviceRelease = async (): Promise<string> =>
    (await cluster.docker(cluster.manager, ['service', 'inspect', '-f', '{{index .Spec.Labels "pilot.release"}}', `${pilot.server.config.instance}-${APP}-web`])).trim();

  /** Requests in a loop until stopped; a failure is any answer but 200 (or no answer). */
  function requestLoop(app = APP): { stop(): Promise<{ ok: number; failed: string[]; bodies: Set<string> }> } {
    let running = true;
    const counts = { ok: 0, failed: [] as string[], bodies: new Set<string>() };
    const loop = (async () => {
      while (running) {
        try {
          const answer = await get(app);
          if (answer.status === 200) {
            counts.ok += 1;
            counts.bodies.add(answer.body.split(' ')[0] ?? '');
          } else counts.failed.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        } catch (error) {
          counts.failed.push(String(error));
        }
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return counts;
      },
    };
  }

  const push = async (files: Record<string, string>) => {
    await client.commit(files);
    return pilot.push(client, APP);
  };

  it('serves an app with web=3 spread over the three nodes through Caddy, from tasks on every node', async () => {
    const created = await pilotCli('apps:create', APP);
    assert.equal(created.code, 0, created.stderr);
    const pushed = await push(appFiles('v1'));
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /Creating \S+-spread-web: 3 × v1/);
    const tasks = await webTasks();
    assert.equal(tasks.length, 3, JSON.stringify(tasks));
    assert.deepEqual(new Set(tasks.map((task) => task.node)), new Set(cluster.nodes.map((node) => node.hostname)), 'one task on each node');
    // Caddy routes to every task (their addresses on the overlay): three hostnames answer.
    const hostnames = new Set<string>();
    await waitFor('answers from three tasks', async () => {
      const answer = await get();
      assert.equal(answer.status, 200, answer.body);
      assert.match(answer.body, /^v1 /);
      hostnames.add(answer.body.split(' ')[1] ?? '');
      return hostnames.size === 3 || undefined;
    }, 30_000, 50);
  });

  it("pilot ps shows CPU and memory of the tasks on every node: the manager's engine for its own, each other node's stats agent for the rest", async () => {
    type Listed = { container: string; node?: string; cpuPercent: number | null; memoryBytes: number | null };
    let last: Listed[] = [];
    const measured = await waitFor('CPU and memory of the three tasks', async () => {
      const listed = await pilotCli('ps', '--json', '-a', APP);
      last = JSON.parse(listed.stdout) as Listed[];
      return last.length === 3 && last.every((process) => (process.memoryBytes ?? 0) > 0 && process.cpuPercent !== null) ? last : undefined;
    }, 120_000, 1000).catch(async (error: unknown) => {
      const agent = await cluster.docker(cluster.manager, ['service', 'ps', '--no-trunc', `${pilot.server.config.instance}-agent`]).catch((failure: unknown) => String(failure));
      throw new Error(`${String(error)}\nlast: ${JSON.stringify(last)}\nthe agent's tasks:\n${agent}`);
    });
    assert.deepEqual(new Set(measured.map((process) => process.node)), new Set(cluster.nodes.map((node) => node.hostname)), 'one task on each node, each measured');
    // The table too: each task's line, whatever node it is on, has its CPU and memory.
    const table = await pilotCli('ps', '-a', APP);
    for (const process of measured) {
      const line = table.stdout.split('\n').find((text) => text.includes(process.container)) ?? '';
      assert.match(line, /\d+\.\d% .*MiB \/ /, table.stdout);
    }
  });

  it("shows a request through Caddy's container as a router line in pilot logs", async () => {
    // As a browser sends it: the Host names the port (Caddy 2.6 picks a site's access log by the exact Host).
    const path = `/router-line-${Date.now()}`;
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: swarm.managerAddress, port: pilot.httpPort, path, headers: { Host: `${APP}.${pilot.domain}:${pilot.httpPort}` }, agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      }).on('error', reject);
    });
    assert.equal(status, 200);
    const line = await waitFor('the router line', async () => {
      const logs = await pilotCli('logs', '-a', APP, '--ps', 'router', '-n', '20');
      assert.equal(logs.code, 0, logs.stderr);
      return logs.stdout.split('\n').find((text) => text.includes(`router | method=GET path="${path}" host=${APP}.${pilot.domain} status=200 `));
    }, 30_000, 500);
    assert.match(line, /client=\S+ protocol=HTTP\/1\.1/);
  });

  it("serves the control plane through the Caddy container (API, dashboard); where Caddy reaches it, an app's task is refused", async () => {
    const whoami = await swarm.get('pilot', '/api/v1/whoami', { authorization: `Bearer ${pilot.token}` });
    assert.equal(whoami.status, 200, whoami.body);
    assert.equal((await swarm.get('pilot', '/api/v1/whoami')).status, 401);
    const signIn = await swarm.get('pilot', '/sign-in');
    assert.equal(signIn.status, 200, signIn.body.slice(0, 200));
    assert.match(signIn.body, /<form[^>]*action="\/sign-in"/);
    const upstream = pilot.server.caddyUpstream;
    assert.ok(upstream, 'Pilot listens for its Caddy container');
    // A task of the app on the manager reaches that address too (the host is its gateway's), and is refused without the proxy key.
    const [task] = (await cluster.docker(cluster.manager, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${pilot.server.config.instance}-${APP}-web`])).split('\n').filter(Boolean);
    assert.ok(task, 'a web task on the manager');
    const probe = `fetch('http://${upstream}/api/v1/whoami', { headers: { authorization: 'Bearer ${pilot.token}' } }).then(async (r) => console.log(r.status, await r.text()))`;
    const answer = await cluster.docker(cluster.manager, ['exec', task, 'node', '-e', probe]);
    assert.match(answer, /^403 .*Caddy only/, answer);
  });

  it('redeploys one task at a time under a request loop without a failed request', async () => {
    const loop = requestLoop();
    const pushed = await push(appFiles('v2'));
    const counts = await loop.stop();
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /Updating \S+-spread-web: 3 × v2, one task at a time/);
    assert.ok(counts.ok > 20, `only ${counts.ok} requests went through`);
    assert.deepEqual(counts.failed, [], `failed requests: ${counts.failed.slice(0, 5).join('; ')}`);
    assert.ok(counts.bodies.has('v1') && counts.bodies.has('v2'), `both releases answered during the update: ${[...counts.bodies].join(', ')}`);
    assert.equal(await serviceRelease(), '2');
    const answer = await waitFor('v2 only', async () => {
      const got = await get();
      return /^v2 /.test(got.body) ? got : undefined;
    });
    assert.equal(answer.status, 200);
  });

  it('rejects a release whose release phase fails, the old tasks serving, the service untouched', async () => {
    const pushed = await push(appFiles('v3', { release: 'sh -c "echo migrating; exit 3"' }));
    assert.notEqual(pushed.code, 0, 'the push is refused');
    assert.match(pushed.stderr, /migrating/);
    assert.equal(await serviceRelease(), '2');
    const answer = await get();
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^v2 /);
  });

  it('rejects a release that fails its health check: Swarm rolls back, the live release serves throughout', async () => {
    const live = await serviceRelease();
    const served = (await get()).body.split(' ')[0];
    const loop = requestLoop();
    const pushed = await push(appFiles('v4', { healthy: false }));
    const counts = await loop.stop();
    assert.notEqual(pushed.code, 0, 'the push is refused');
    assert.match(pushed.stderr, /rolled it back and the previous release serves on/);
    assert.deepEqual(counts.failed, [], `failed requests: ${counts.failed.slice(0, 5).join('; ')}`);
    assert.deepEqual([...counts.bodies], [served]);
    assert.equal(await serviceRelease(), live);
    const releases = JSON.parse((await pilotCli('releases', '--json', '-a', APP)).stdout) as { version: number; status: string }[];
    assert.equal(String(releases.find((release) => release.status === 'live')?.version), live);
  });

  it('pilot ps shows the node of each task; pilot logs and pilot run reach tasks on other nodes', async () => {
    const listed = await pilotCli('ps', '--json', '-a', APP);
    assert.equal(listed.code, 0, listed.stderr);
    const processes = JSON.parse(listed.stdout) as { container: string; node?: string }[];
    // Where Swarm says each task runs (after updates and rollbacks, not necessarily one per node).
    const placed = (await cluster.docker(cluster.manager, ['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Name}} {{.Node}}', `${pilot.server.config.instance}-${APP}-web`]))
      .split('\n').filter(Boolean).sort();
    assert.equal(placed.length, 3);
    assert.deepEqual(processes.map((process) => `${process.container} ${process.node}`).sort(), placed);
    const table = await pilotCli('ps', '-a', APP);
    assert.match(table.stdout, /\bNODE\b/);
    for (const line of placed) assert.ok(table.stdout.includes(line.split(' ')[1] ?? ''), table.stdout);
    // Each task logs the lines it printed on its own node.
    const logs = await pilotCli('logs', '-a', APP, '-n', '50');
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(new Set(logs.stdout.match(/listening on \w+/g) ?? []).size, 3, logs.stdout);
    const ran = await pilotCli('run', '-a', APP, '--', 'node', '-e', 'console.log("ran " + process.env.PORT)');
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /ran 5000/);
  });

  it('config:set, limits:set and domains:add work as on one host, config and limits as rolling updates the app serves through; ps:scale defers to app.json', async () => {
    const instance = pilot.server.config.instance;
    const service = `${instance}-${APP}-web`;
    const inspect = async (format: string) => (await cluster.docker(cluster.manager, ['service', 'inspect', '-f', format, service])).trim();
    const loop = requestLoop();
    const set = await pilotCli('config:set', 'GREETING=from-the-swarm', '-a', APP);
    assert.equal(set.code, 0, set.stderr);
    assert.match(await inspect('{{json .Spec.TaskTemplate.ContainerSpec.Env}}'), /GREETING=from-the-swarm/);
    const limited = await pilotCli('limits:set', 'memory=192m', '-a', APP);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(await inspect('{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}'), String(192 * 1024 * 1024));
    const counts = await loop.stop();
    assert.deepEqual(counts.failed, [], `failed requests during config:set and limits:set: ${counts.failed.slice(0, 5).join('; ')}`);
    // The tasks run with the new value: read inside each, on the node Swarm placed it.
    let read = 0;
    for (const node of cluster.nodes) {
      for (const task of (await cluster.docker(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`])).split('\n').filter(Boolean)) {
        assert.equal((await cluster.docker(node, ['exec', task, 'printenv', 'GREETING'])).trim(), 'from-the-swarm', `${task} on ${node.hostname}`);
        read += 1;
      }
    }
    assert.equal(read, 3, 'every web task read');

    const domain = `www.${APP}-custom.test`;
    const added = await pilotCli('domains:add', domain, '-a', APP);
    assert.equal(added.code, 0, added.stderr);
    await waitFor(`${domain} served through the Caddy container`, async () => {
      const answer = await swarm.get(APP, '/', { Host: domain }).catch(() => undefined);
      return answer?.status === 200 ? answer : undefined;
    }, 30_000, 500);

    // As on one host: app.json's formation fixes web's quantity, so ps:scale says where to change it.
    const scaled = await pilotCli('ps:scale', 'web=4', '-a', APP);
    assert.notEqual(scaled.code, 0);
    assert.match(scaled.stderr, /web is scaled by app\.json formation \(web\.quantity: 3\).*change app\.json and push to scale it/);
    assert.equal((await get()).status, 200);
  });

  it('rolls back to v1 with a rolling update of its image', async () => {
    const rolled = await pilotCli('rollback', 'v1', '-a', APP);
    assert.equal(rolled.code, 0, rolled.stderr + rolled.stdout);
    const answer = await waitFor('v1 again', async () => {
      const got = await get();
      return /^v1 /.test(got.body) ? got : undefined;
    });
    assert.equal(answer.status, 200);
    const tasks = await webTasks();
    assert.equal(tasks.length, 3);
  });

  it('a switch that fails after Swarm updated the services puts them back on the live release, which serves on', async () => {
    const live = await serviceRelease();
    const served = (await get()).body.split(' ')[0];
    const caddy = `${pilot.server.config.instance}-caddy`;
    const pushing = push(appFiles('v-unswitched'));
    // Once Swarm is updating the service (each task takes at least its 10 s monitor), Caddy stops: the switch cannot load the routes.
    await waitFor('the service updating', async () => ((await serviceRelease()) !== live) || undefined, 240_000, 200);
    await cluster.docker(cluster.manager, ['stop', '-t', '1', caddy]);
    const pushed = await pushing;
    await cluster.docker(cluster.manager, ['start', caddy]);
    assert.notEqual(pushed.code, 0, 'the push is refused');
    assert.match(pushed.stderr, new RegExp(`putting ${APP}'s processes back on v${live}`));
    assert.match(pushed.stderr, new RegExp(`v${live} is still serving`));
    assert.equal(await serviceRelease(), live);
    const releases = JSON.parse((await pilotCli('releases', '--json', '-a', APP)).stdout) as { version: number; status: string; failureReason: string | null }[];
    assert.equal(String(releases.find((release) => release.status === 'live')?.version), live);
    const failed = releases.find((release) => release.version === Math.max(...releases.map((candidate) => candidate.version)));
    assert.equal(failed?.status, 'failed');
    assert.match(failed?.failureReason ?? '', /Caddy/);
    // Caddy is back (the route watch reloads it): every task answers as the live release.
    const hostnames = new Set<string>();
    await waitFor('the live release from three tasks', async () => {
      const answer = await get().catch(() => undefined);
      if (answer?.status !== 200) return undefined;
      assert.equal(answer.body.split(' ')[0], served, answer.body);
      hostnames.add(answer.body.split(' ')[1] ?? '');
      return hostnames.size === 3 || undefined;
    }, 60_000, 100);
  });

  it('a killed worker: its tasks move to the other nodes, the routes follow, the app serves on', async (t) => {
    const worker = cluster.workers[0];
    assert.ok(worker);
    const loop = requestLoop();
    const killedAt = Date.now();
    await sh(`docker kill ${worker.container}`);
    try {
      const moved = await waitFor('three web tasks running on the other nodes', async () => {
        const tasks = await webTasks();
        const running = tasks.filter((task) => task.state === 'Running');
        return running.length === 3 && running.every((task) => task.node !== worker.hostname) ? running : undefined;
      }, 120_000, 500);
      assert.equal(moved.length, 3);
      // Caddy's upstreams are exactly the running tasks' addresses on the app's overlay again.
      await waitFor('Caddy routing to the three live tasks only', async () => {
        const routed = (await pilot.server.caddyAdmin.upstreams()).filter((upstream) => upstream.endsWith(':5000')).sort();
        const live = await swarm.webTaskAddresses(APP);
        return live.length === 3 && JSON.stringify(routed) === JSON.stringify(live) ? routed : undefined;
      }, 60_000, 250);
      t.diagnostic(`routes followed the node loss in ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
      const counts = await loop.stop();
      t.diagnostic(`during the node loss: ${counts.ok} answered, ${counts.failed.length} failed (${counts.failed.slice(0, 3).join('; ')})`);
      assert.ok(counts.ok > 10, `the app kept serving: ${counts.ok} answers`);
      const answer = await get();
      assert.equal(answer.status, 200);
    } finally {
      await loop.stop();
      await cluster.start(worker);
      await cluster.waitReady();
    }
  });

  it('an app with a volume runs on the node that holds it, updated stop-first; what it wrote survives a redeploy', async () => {
    const keeper = 'keeper';
    const keeperFiles = (version: string): Record<string, string> => ({
      'package.json': JSON.stringify({ name: keeper, version: '1.0.0', scripts: { start: 'node server.js' } }),
      // Each task notes its release in the volume as it starts, and answers with what the volume holds.
      'server.js': `const fs = require('node:fs');
fs.appendFileSync('/data/starts', '${version}\\n');
const server = require('node:http').createServer((request, response) => response.end(fs.readFileSync('/data/starts', 'utf8').split('\\n').filter(Boolean).join(',')));
server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
      'app.json': JSON.stringify({ formation: { web: { quantity: 2 } } }),
    });
    assert.equal((await pilotCli('apps:create', keeper)).code, 0);
    const mounted = await pilotCli('storage:mount', '/data', '-a', keeper);
    assert.equal(mounted.code, 0, mounted.stderr);
    assert.match(mounted.stdout, new RegExp(`The volume lives on node ${cluster.manager.hostname}: the app's processes run on that node only, and are replaced stop-first`));
    const keeperClient = new GitClient(tempDir('swarm-keeper'));
    await keeperClient.init();
    const service = `${pilot.server.config.instance}-${keeper}-web`;
    const nodesOfTasks = async () => (await cluster.docker(cluster.manager, ['service', 'ps', service, '--filter', 'desired-state=running', '--format', '{{.Node}}'])).split('\n').filter(Boolean);
    for (const version of ['k1', 'k2']) {
      await keeperClient.commit(keeperFiles(version));
      const pushed = await pilot.push(keeperClient, keeper);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.deepEqual(await nodesOfTasks(), [cluster.manager.hostname, cluster.manager.hostname], 'both tasks on the node that holds the volume');
    }
    assert.equal((await cluster.docker(cluster.manager, ['service', 'inspect', '-f', '{{.Spec.UpdateConfig.Order}}', service])).trim(), 'stop-first');
    // Two starts of k1, then two of k2: the redeploy's tasks found what the first release wrote.
    const answer = await waitFor('the volume read through Caddy', async () => {
      const got = await get(keeper);
      return got.status === 200 && got.body.includes('k2') ? got : undefined;
    });
    assert.deepEqual(answer.body.split(',').sort(), ['k1', 'k1', 'k2', 'k2']);
  });

  it('pilot ps shows the memory of the tasks of an app with a volume, on the manager', async () => {
    type Listed = { container: string; node?: string; memoryBytes: number | null };
    const listed = async (app: string): Promise<Listed[]> => JSON.parse((await pilotCli('ps', '--json', '-a', app)).stdout) as Listed[];
    const keeperTasks = await waitFor('memory of the keeper tasks', async () => {
      const processes = await listed('keeper');
      return processes.length === 2 && processes.every((process) => (process.memoryBytes ?? 0) > 0) ? processes : undefined;
    }, 60_000, 1000);
    assert.ok(keeperTasks.every((process) => process.node === cluster.manager.hostname));
  });

  it("apps:link: the linked app's tasks reach the other app's web tasks by its name, as on one host; apps:unlink takes that away", async () => {
    const instance = pilot.server.config.instance;
    // From inside a running task of keeper (its tasks run on the manager: its volume is there).
    const fromKeeper = async (): Promise<string> => {
      const [task] = (await cluster.docker(cluster.manager, ['service', 'ps', '-q', '--filter', 'desired-state=running', `${instance}-keeper-web`])).split('\n').filter(Boolean);
      assert.ok(task, 'a keeper task runs');
      const container = (await cluster.docker(cluster.manager, ['inspect', '-f', '{{.Status.ContainerStatus.ContainerID}}', task])).trim();
      const script = `fetch('http://${APP}:5000/').then((r) => r.text()).then((text) => console.log(text), (error) => console.log('unreachable ' + (error.cause?.code ?? error.message)))`;
      return (await cluster.docker(cluster.manager, ['exec', container, 'node', '-e', script])).trim();
    };
    assert.match(await fromKeeper(), /^unreachable/, 'apps reach no other app unless linked');
    const linked = await pilotCli('apps:link', 'keeper', APP);
    assert.equal(linked.code, 0, linked.stderr + linked.stdout);
    const networks = await cluster.docker(cluster.manager, ['service', 'inspect', '-f', '{{range .Spec.TaskTemplate.Networks}}{{.Target}} {{end}}', `${instance}-keeper-web`]);
    const spreadNetwork = (await cluster.docker(cluster.manager, ['network', 'inspect', '-f', '{{.Id}}', `${instance}-${APP}-net`])).trim();
    assert.ok(networks.includes(spreadNetwork), `keeper's service is on ${APP}'s overlay: ${networks}`);
    assert.match(await fromKeeper(), /^v1 /, `keeper reaches ${APP} at http://${APP}:5000`);
    const unlinked = await pilotCli('apps:unlink', 'keeper', APP);
    assert.equal(unlinked.code, 0, unlinked.stderr + unlinked.stdout);
    assert.match(await fromKeeper(), /^unreachable/);
  });

  // An app whose formation app.json does not fix: ps:scale scales it. Pushed with its deploy token.
  const SCALED = 'scaled';
  const scaledClient = new GitClient(tempDir('swarm-scaled'));
  const scaledFiles = (version: string): Record<string, string> => ({
    'package.json': JSON.stringify({ name: SCALED, version: '1.0.0' }),
    'server.js': server(version),
    'worker.js': "setInterval(() => console.log('working on ' + require('node:os').hostname()), 1000);\n",
    Procfile: 'web: node server.js\nworker: node worker.js\n',
  });

  it('a deploy token pushes and reads its own app in swarm mode; another app, the nodes and config are refused, and so is the token once revoked', async () => {
    assert.equal((await pilotCli('apps:create', SCALED)).code, 0);
    const created = await pilotCli('tokens:create', `ci-${SCALED}`, '--app', SCALED, '--json');
    assert.equal(created.code, 0, created.stderr);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const asDeployToken = (...args: string[]): Promise<CliResult> => runPilot(args, home, { HOME: home, PILOT_URL: pilot.server.address, PILOT_TOKEN: token });
    await scaledClient.init();
    await scaledClient.commit(scaledFiles('s1'));
    const pushed = await scaledClient.run(['push', remoteUrl(pilot.server.address, SCALED, token), 'HEAD:refs/heads/main']);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /Creating \S+-scaled-web: 1 × v1/);
    assert.equal((await get(SCALED)).body.split(' ')[0], 's1');

    const listed = await asDeployToken('ps', '--json', '-a', SCALED);
    assert.equal(listed.code, 0, listed.stderr);
    const processes = JSON.parse(listed.stdout) as { type: string; state: string; node?: string }[];
    assert.deepEqual(processes.map((process) => `${process.type} ${process.state}`), ['web running', 'worker scaled to 0']);
    assert.ok(cluster.nodes.some((node) => node.hostname === processes[0]?.node), JSON.stringify(processes));
    const releases = JSON.parse((await asDeployToken('releases', '--json', '-a', SCALED)).stdout) as { madeBy: { label: string } | null }[];
    assert.equal(releases[0]?.madeBy?.label, `deploy token ci-${SCALED}`);

    const otherApp = await asDeployToken('ps', '-a', APP);
    assert.equal(otherApp.code, 1);
    assert.match(otherApp.stderr, new RegExp(`may not access the app "${APP}"`));
    for (const adminOnly of [['nodes'], ['nodes:drain', cluster.workers[0]?.hostname ?? ''], ['config:set', 'A=1', '-a', SCALED]]) {
      const refused = await asDeployToken(...adminOnly);
      assert.equal(refused.code, 1, adminOnly.join(' '));
      assert.match(refused.stderr, /needs an admin token/, adminOnly.join(' '));
    }
    assert.equal((await cluster.docker(cluster.manager, ['node', 'inspect', '-f', '{{.Spec.Availability}}', cluster.workers[0]?.hostname ?? ''])).trim(), 'active');

    assert.equal((await pilotCli('tokens:revoke', `ci-${SCALED}`)).code, 0);
    const revoked = await asDeployToken('ps', '-a', SCALED);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /the token is not valid \(wrong, revoked or mistyped\)/);
    await scaledClient.commit(scaledFiles('s-revoked'));
    const refusedPush = await scaledClient.run(['push', remoteUrl(pilot.server.address, SCALED, token), 'HEAD:refs/heads/main']);
    assert.notEqual(refusedPush.code, 0, 'a revoked token pushes nothing');
    assert.equal((await get(SCALED)).body.split(' ')[0], 's1');
  });

  it("ps:scale changes the services' replicas: new web tasks on the other nodes serve through Caddy, a worker runs; scaling down drops no request", async () => {
    const instance = pilot.server.config.instance;
    const replicas = async (type: string) => (await cluster.docker(cluster.manager, ['service', 'inspect', '-f', '{{.Spec.Mode.Replicated.Replicas}}', `${instance}-${SCALED}-${type}`])).trim();
    const routedTo = async (addresses: readonly string[]) => {
      const upstreams = new Set(await pilot.server.caddyAdmin.upstreams());
      return addresses.filter((address) => upstreams.has(address));
    };
    const listed = async () => JSON.parse((await pilotCli('ps', '--json', '-a', SCALED)).stdout) as { type: string; index: number | null; state: string; node?: string }[];

    const up = await pilotCli('ps:scale', 'web=3', 'worker=1', '-a', SCALED);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual([await replicas('web'), await replicas('worker')], ['3', '1']);
    const tasks = await swarm.webTasks(SCALED);
    assert.equal(tasks.length, 3, JSON.stringify(tasks));
    assert.ok(new Set(tasks.map((task) => task.node)).size > 1, `the new tasks are placed on other nodes: ${JSON.stringify(tasks)}`);
    const processes = await listed();
    assert.deepEqual(processes.map((process) => `${process.type}.${process.index} ${process.state}`).sort(), ['web.1 running', 'web.2 running', 'web.3 running', 'worker.1 running']);
    assert.deepEqual(processes.filter((process) => process.type === 'web').map((process) => process.node).sort(), tasks.map((task) => task.node).sort());
    // Caddy's upstreams follow the tasks, and each task answers: three hostnames.
    const three = await swarm.webTaskAddresses(SCALED);
    await waitFor("the three tasks in Caddy's upstreams", async () => ((await routedTo(three)).length === 3 ? true : undefined), 30_000, 250);
    const hostnames = new Set<string>();
    await waitFor('answers from three tasks', async () => {
      const answer = await get(SCALED);
      assert.equal(answer.status, 200, answer.body);
      hostnames.add(answer.body.split(' ')[1] ?? '');
      return hostnames.size === 3 || undefined;
    }, 30_000, 50);

    const loop = requestLoop(SCALED);
    let one: string[];
    try {
      const down = await pilotCli('ps:scale', 'web=1', 'worker=0', '-a', SCALED);
      assert.equal(down.code, 0, down.stderr);
      one = await waitFor('one web task left, in the routes alone', async () => {
        const left = await swarm.webTaskAddresses(SCALED);
        const routed = await routedTo(three);
        return left.length === 1 && routed.length === 1 && routed[0] === left[0] ? left : undefined;
      }, 60_000, 250);
    } finally {
      await loop.stop();
    }
    const counts = await loop.stop();
    assert.deepEqual(counts.failed, [], `failed requests during the scale-down: ${counts.failed.slice(0, 5).join('; ')}`);
    assert.ok(counts.ok > 5, `only ${counts.ok} requests went through`);
    assert.deepEqual([await replicas('web'), await replicas('worker')], ['1', '0']);
    assert.equal(one.length, 1);
    assert.deepEqual((await listed()).map((process) => `${process.type} ${process.state}`), ['web running', 'worker scaled to 0']);
  });

  it('a scale-down keeps the tasks Swarm chooses (web.1 and web.3, one on each node): both are listed and serve, and the next scale-down still reaches Swarm', async () => {
    const service = `${pilot.server.config.instance}-${SCALED}-web`;
    const placed = async () => (await cluster.docker(cluster.manager, ['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Name}} {{.Node}}', service])).split('\n').filter(Boolean).sort();
    const [only] = await swarm.webTasks(SCALED);
    assert.ok(only);
    // web.2 joins web.1 on its node (the others drained meanwhile), web.3 goes to another node.
    const others = cluster.nodes.filter((node) => node.hostname !== only.node);
    for (const node of others) assert.equal((await pilotCli('nodes:drain', node.hostname)).code, 0);
    try {
      const two = await pilotCli('ps:scale', 'web=2', '-a', SCALED);
      assert.equal(two.code, 0, two.stderr);
    } finally {
      for (const node of others) await pilotCli('nodes:activate', node.hostname);
    }
    const three = await pilotCli('ps:scale', 'web=3', '-a', SCALED);
    assert.equal(three.code, 0, three.stderr);
    const before = await placed();
    assert.equal(before.filter((line) => line.endsWith(` ${only.node}`)).length, 2, before.join(', '));
    const addresses = await swarm.webTaskAddresses(SCALED);
    // Swarm removes the second task of the node that has two, web.2: web.1 and web.3 serve on.
    const loop = requestLoop(SCALED);
    try {
      const down = await pilotCli('ps:scale', 'web=2', '-a', SCALED);
      assert.equal(down.code, 0, down.stderr);
      const kept = await placed();
      assert.deepEqual(kept.map((line) => line.split(' ')[0]), [`${service}.1`, `${service}.3`], kept.join(', '));
      const listed = JSON.parse((await pilotCli('ps', '--json', '-a', SCALED)).stdout) as { type: string; container: string; node?: string }[];
      assert.deepEqual(listed.filter((process) => process.type === 'web').map((process) => `${process.container} ${process.node}`).sort(), kept);
      const serving = await swarm.webTaskAddresses(SCALED);
      await waitFor('Caddy routing to web.1 and web.3 only', async () => {
        const upstreams = new Set(await pilot.server.caddyAdmin.upstreams());
        return JSON.stringify(addresses.filter((address) => upstreams.has(address))) === JSON.stringify(serving) ? true : undefined;
      }, 30_000, 250);
      // From web.1 and web.3 down to one: the scheduler is told, though web.1 alone is within the old scale.
      const one = await pilotCli('ps:scale', 'web=1', '-a', SCALED);
      assert.equal(one.code, 0, one.stderr);
      await waitFor('one web task left on the swarm', async () => ((await placed()).length === 1 ? true : undefined), 60_000, 250);
      const left = JSON.parse((await pilotCli('ps', '--json', '-a', SCALED)).stdout) as { type: string }[];
      assert.equal(left.filter((process) => process.type === 'web').length, 1);
    } finally {
      await loop.stop();
    }
    const counts = await loop.stop();
    assert.deepEqual(counts.failed, [], `failed requests during the scale-downs: ${counts.failed.slice(0, 5).join('; ')}`);
  });
});
