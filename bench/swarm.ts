/**
 * Swarm mode against one host, on the three-node Docker-in-Docker swarm of the tests
 * (test/helpers/swarm-cluster.ts) and a single-host Pilot on this machine's engine, the same app
 * in both: push to live, a rolling redeploy of web=3 under load, and a worker lost under load.
 * Everything it makes (both Pilots, the cluster unless PILOT_SWARM_CLUSTER pins one) is removed
 * at the end, after a failure or on SIGINT/SIGTERM too.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  LOAD_HEADERS, REPEAT, appBody, loadRow, median, newRepo, printSection, push, pushTimes, ratio, seconds, startTestPilot, steadyLoad, table, until,
  type LoadResult, type Section, type TestPilot,
} from './lib.js';
import { removeSwarmCluster, swarmCluster, type SwarmCluster, type SwarmNode } from '../test/helpers/swarm-cluster.js';
import { sh, startSwarmPilot, type SwarmPilot } from '../test/helpers/swarm-pilot.js';

const REDEPLOYS = Number(process.env.BENCH_SWARM_REDEPLOYS ?? 3);
/** Lower than zero-downtime.ts's: here two Pilots, three engines and the load share two cores. */
const RATE = { keepAlive: 50, fresh: 20 };
const STEADY_SECONDS = 20;
const APP = 'roll';
const WEB = 3;

/** As the app of test/e2e/swarm-apps.test.ts: web=3, a graceful stop; it answers its version. */
function appFiles(version: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'roll', version: '1.0.0', scripts: { start: 'node server.js' } }),
    'server.js': `const server = require('node:http').createServer((request, response) => response.end('${version}'));
server.keepAliveTimeout = 1000;
server.listen(Number(process.env.PORT));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
    // Pilot's default health check (until PILOT_HEALTH_TIMEOUT): on a loaded machine a server may take a moment to listen.
    'app.json': JSON.stringify({ formation: { web: { quantity: WEB } } }),
    Procfile: 'web: node server.js\n',
  };
}

/** A Pilot under test and where its Caddy answers by plain HTTP. */
interface Mode {
  readonly label: string;
  readonly pilot: TestPilot;
  readonly caddyAt: string;
}

/** Cleanups run last-in first-out, once, whether the run ends, fails or is interrupted. */
function cleanups(): { add(step: () => Promise<unknown>): void; run(): Promise<void> } {
  const steps: (() => Promise<unknown>)[] = [];
  let running: Promise<void> | undefined;
  return {
    add: (step) => steps.push(step),
    run: () =>
      (running ??= (async () => {
        for (const step of steps.reverse()) await step().catch((error: unknown) => console.error('cleanup:', error));
      })()),
  };
}

async function destroyApp(pilot: TestPilot, app: string): Promise<void> {
  await pilot.server.deployer.settle();
  const destroyed = await pilot.server.app.inject({ method: 'DELETE', url: `/api/v1/apps/${app}?confirm=${app}`, headers: { authorization: `Bearer ${pilot.token}` } });
  if (destroyed.statusCode !== 200) throw new Error(`could not destroy ${app}: ${destroyed.body}`);
}

/** A new app pushed (cold), then a one-line change pushed (warm); destroyed after. */
async function coldAndWarm(mode: Mode, app: string): Promise<{ cold: { live: number; pushed: number }; warm: { live: number; pushed: number } }> {
  const client = await newRepo(`bench-swarm-${app}`, appFiles(`${app} v1`));
  try {
    const cold = await pushTimes(mode.pilot, client, app, `${app} v1`, mode.caddyAt);
    await client.commit(appFiles(`${app} v2`));
    const warm = await pushTimes(mode.pilot, client, app, `${app} v2`, mode.caddyAt);
    return { cold, warm };
  } finally {
    await destroyApp(mode.pilot, app);
  }
}

async function pushToLive(modes: readonly [Mode, Mode]): Promise<{ rows: (string | number)[][]; firstPushes: string }> {
  // The first push of a fresh cluster also brings the base image's layers to every worker (once
  // per cluster, as on a real one): measured apart, not in the medians.
  const first: { mode: Mode; times: Awaited<ReturnType<typeof coldAndWarm>> }[] = [];
  for (const mode of modes) first.push({ mode, times: await coldAndWarm(mode, 'first') });
  const times = new Map(modes.map((mode) => [mode.label, { cold: [] as { live: number; pushed: number }[], warm: [] as { live: number; pushed: number }[] }]));
  for (let round = 0; round < REPEAT; round += 1) {
    // Alternate which goes first: the machine warms up and cools down too.
    for (const mode of round % 2 === 0 ? modes : [modes[1], modes[0]]) {
      const result = await coldAndWarm(mode, `ptl${round}`);
      times.get(mode.label)?.cold.push(result.cold);
      times.get(mode.label)?.warm.push(result.warm);
    }
  }
  const rows: (string | number)[][] = [];
  for (const phase of ['cold', 'warm'] as const) {
    const medians = modes.map((mode) => {
      const runs = times.get(mode.label)?.[phase] ?? [];
      return { mode, live: median(runs.map((run) => run.live)), pushed: median(runs.map((run) => run.pushed)) };
    });
    const baseline = medians[0] as (typeof medians)[number];
    for (const entry of medians) {
      rows.push([entry.mode.label, phase, seconds(entry.live), seconds(entry.pushed), ratio(entry.live, baseline.live), ratio(entry.pushed, baseline.pushed)]);
    }
  }
  const firstPushes = first.map(({ mode, times: run }) => `${mode.label}: cold ${seconds(run.cold.live)} s to the first answer (push done ${seconds(run.cold.pushed)} s)`).join('; ');
  return { rows, firstPushes };
}

interface LoadPair {
  readonly keepAlive: LoadResult;
  readonly fresh: LoadResult;
}

/** Both loads of zero-downtime.ts (keep-alive and a fresh connection per request) on APP while `during` runs. */
async function underLoad(mode: Mode, during: () => Promise<void>): Promise<LoadPair> {
  const loads = [
    steadyLoad({ pilot: mode.pilot, app: APP, rate: RATE.keepAlive, connections: 5, freshConnections: false, durationSeconds: 3600, plainHttpAt: mode.caddyAt }),
    steadyLoad({ pilot: mode.pilot, app: APP, rate: RATE.fresh, connections: 2, freshConnections: true, durationSeconds: 3600, plainHttpAt: mode.caddyAt }),
  ];
  try {
    await during();
  } finally {
    for (const load of loads) load.stop();
  }
  const [keepAlive, fresh] = await Promise.all(loads.map((load) => load.result));
  return { keepAlive: keepAlive as LoadResult, fresh: fresh as LoadResult };
}

/** APP deployed with web=3; the load with no deploy, then during REDEPLOYS rolling redeploys. */
async function redeploys(mode: Mode): Promise<{ steady: LoadPair; rolling: LoadPair; seconds: number }> {
  const client = await newRepo(`bench-swarm-${APP}`, appFiles('v0'));
  await push(mode.pilot, client, APP);
  await until(`${APP} v0 serving`, async () => (await appBody(mode.pilot, APP, '/', mode.caddyAt)) === 'v0');
  await mode.pilot.server.deployer.settle();
  const steady = await underLoad(mode, () => new Promise((resolve) => setTimeout(resolve, STEADY_SECONDS * 1000)));
  const started = performance.now();
  const rolling = await underLoad(mode, async () => {
    for (let version = 1; version <= REDEPLOYS; version += 1) {
      await client.commit(appFiles(`v${version}`));
      await push(mode.pilot, client, APP);
      await until(`v${version} serving`, async () => (await appBody(mode.pilot, APP, '/', mode.caddyAt)) === `v${version}`);
    }
    // Keep the load through the last drain and retirement.
    await mode.pilot.server.deployer.settle();
  });
  return { steady, rolling, seconds: (performance.now() - started) / 1000 };
}

interface NodeLoss {
  readonly node: string;
  readonly tasksOnIt: number;
  /** Milliseconds from the kill of the node's container. */
  readonly nodeDown: number;
  readonly addressesGone: number;
  readonly rescheduled: number;
  readonly routesFollowed: number;
  /** Mean time between two polls of the window. */
  readonly pollInterval: number;
  readonly load: LoadPair;
}

const routedTasks = async (pilot: TestPilot): Promise<string[]> => (await pilot.server.caddyAdmin.upstreams()).filter((upstream) => upstream.endsWith(':5000')).sort();
const same = (a: readonly string[], b: readonly string[]): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Makes sure a worker holds a web task (a restart, every task new, placed by Swarm's spread,
 * when none does; Swarm does not move tasks back to a node that rejoined) and Caddy routes to
 * exactly the running tasks.
 */
async function taskOnAWorker(swarm: SwarmPilot, cluster: SwarmCluster): Promise<void> {
  const onAWorker = async () => {
    const running = (await swarm.webTasks(APP)).filter((task) => task.state === 'Running');
    return running.length === WEB && running.some((task) => cluster.workers.some((worker) => worker.hostname === task.node));
  };
  if (!(await onAWorker())) {
    const restarted = await swarm.pilot.server.app.inject({ method: 'POST', url: `/api/v1/apps/${APP}/ps/restart`, headers: { authorization: `Bearer ${swarm.pilot.token}` } });
    if (restarted.statusCode !== 200) throw new Error(`restarting ${APP} failed: ${restarted.body}`);
    await until('a web task on a worker', onAWorker, 180_000);
  }
  await until("Caddy routing to the app's three tasks", async () => same(await routedTasks(swarm.pilot), await swarm.webTaskAddresses(APP)), 60_000);
}

/** Kills the container of the worker holding the most web tasks, under load; times what follows, then starts it again. */
async function loseNode(swarm: SwarmPilot, cluster: SwarmCluster, mode: Mode): Promise<NodeLoss> {
  await taskOnAWorker(swarm, cluster);
  const tasks = (await swarm.webTasks(APP)).filter((task) => task.state === 'Running');
  const count = (node: SwarmNode) => tasks.filter((task) => task.node === node.hostname).length;
  const victim = [...cluster.workers].sort((a, b) => count(b) - count(a))[0] as SwarmNode;
  const victimAddresses = await swarm.webTaskAddresses(APP, victim.hostname);
  const at: { nodeDown?: number; addressesGone?: number; rescheduled?: number; routesFollowed?: number } = {};
  let killedAt = 0;
  let polls = 0;
  try {
    const load = await underLoad(mode, async () => {
      killedAt = performance.now();
      await sh(`docker kill ${victim.container}`);
      await until('the routes following the node loss', async () => {
        const [state, routed, running, live, stillOnVictim] = await Promise.all([
          cluster.docker(cluster.manager, ['node', 'inspect', '-f', '{{.Status.State}}', victim.hostname]).then((out) => out.trim(), () => ''),
          routedTasks(swarm.pilot),
          swarm.webTasks(APP).then((listed) => listed.filter((task) => task.state === 'Running')),
          swarm.webTaskAddresses(APP),
          swarm.webTaskAddresses(APP, victim.hostname),
        ]);
        const now = performance.now() - killedAt;
        polls += 1;
        if (state === 'down') at.nodeDown ??= now;
        // An address Swarm gave again to a live task on another node is rightly routed.
        const elsewhere = live.filter((address) => !stillOnVictim.includes(address));
        if (!routed.some((address) => victimAddresses.includes(address) && !elsewhere.includes(address))) at.addressesGone ??= now;
        if (running.length === WEB && running.every((task) => task.node !== victim.hostname)) at.rescheduled ??= now;
        if (at.rescheduled !== undefined && live.length === WEB && same(routed, live)) at.routesFollowed ??= now;
        return at.nodeDown !== undefined && at.addressesGone !== undefined && at.routesFollowed !== undefined;
      }, 180_000);
    });
    return {
      node: victim.hostname,
      tasksOnIt: victimAddresses.length,
      nodeDown: at.nodeDown as number,
      addressesGone: at.addressesGone as number,
      rescheduled: at.rescheduled as number,
      routesFollowed: at.routesFollowed as number,
      pollInterval: (at.routesFollowed as number) / polls,
      load,
    };
  } finally {
    await cluster.start(victim);
    await cluster.waitReady();
  }
}

export async function run(): Promise<Section> {
  const cleanup = cleanups();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`${signal}: removing what the swarm bench made`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const loadAtStart = os.loadavg();
  const startedAt = new Date();
  try {
    const single = await startTestPilot({ PILOT_TLS: 'off' });
    cleanup.add(() => single.close());
    const cluster = await swarmCluster();
    if (process.env.PILOT_SWARM_CLUSTER === undefined) cleanup.add(() => removeSwarmCluster(cluster.name));
    await cluster.waitReady();
    const swarm = await startSwarmPilot(cluster);
    cleanup.add(() => swarm.close());
    const singleMode: Mode = { label: 'single host', pilot: single, caddyAt: '127.0.0.1' };
    const swarmMode: Mode = { label: 'swarm, 3 nodes', pilot: swarm.pilot, caddyAt: swarm.managerAddress };

    console.error('swarm bench: push to live');
    const pushes = await pushToLive([singleMode, swarmMode]);
    console.error(table(['mode', 'push', 'first answer s', 'push done s', 'ratio', 'ratio'], pushes.rows));
    console.error('swarm bench: rolling redeploys under load');
    const singleRedeploys = await redeploys(singleMode);
    await destroyApp(single, APP);
    const swarmRedeploys = await redeploys(swarmMode);
    console.error(JSON.stringify({ singleRedeploys, swarmRedeploys }));
    const placed = [...new Set((await swarm.webTasks(APP)).map((task) => task.node))].length;
    console.error('swarm bench: node losses');
    const losses: NodeLoss[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      losses.push(await loseNode(swarm, cluster, swarmMode));
      console.error(JSON.stringify(losses.at(-1)));
    }
    const loadAtEnd = os.loadavg();

    const redeployRows = ([[singleMode, singleRedeploys], [swarmMode, swarmRedeploys]] as const).flatMap(([mode, result]) =>
      (['steady', 'rolling'] as const).flatMap((phase) => {
        const phaseLabel = phase === 'steady' ? `steady, ${STEADY_SECONDS} s` : `${REDEPLOYS} redeploys, ${result.seconds.toFixed(0)} s`;
        return (['keepAlive', 'fresh'] as const).map((kind) => [
          mode.label,
          ...loadRow(phaseLabel, kind === 'keepAlive' ? 'keep-alive' : 'fresh per request', result[phase][kind]),
          ratio(result[phase][kind].p99, singleRedeploys[phase][kind].p99),
        ]);
      }),
    );
    const lossRows = losses.map((loss, index) => [
      index + 1, `${loss.node} (${loss.tasksOnIt} of ${WEB} tasks)`, seconds(loss.nodeDown), seconds(loss.addressesGone), seconds(loss.rescheduled), seconds(loss.routesFollowed),
    ]);
    lossRows.push(['median', '', ...(['nodeDown', 'addressesGone', 'rescheduled', 'routesFollowed'] as const).map((key) => seconds(median(losses.map((loss) => loss[key]))))]);
    const lossLoadRows = [
      ...(['keepAlive', 'fresh'] as const).map((kind) => loadRow('steady state, swarm (no loss)', kind === 'keepAlive' ? 'keep-alive' : 'fresh per request', swarmRedeploys.steady[kind])),
      ...losses.flatMap((loss, index) =>
        (['keepAlive', 'fresh'] as const).map((kind) => loadRow(`node loss ${index + 1}, ${seconds(loss.routesFollowed)} s`, kind === 'keepAlive' ? 'keep-alive' : 'fresh per request', loss.load[kind])),
      ),
    ];
    const failed = (pairs: readonly LoadPair[]) => pairs.reduce((sum, pair) => sum + [pair.keepAlive, pair.fresh].reduce((s, r) => s + r.non2xx + r.errors, 0), 0);
    const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');
    return {
      title: 'Swarm mode: push to live, rolling redeploy and node loss across three nodes',
      body: [
        `Measured ${startedAt.toISOString()} by \`npm run bench:swarm\` (load average 1/5/15 min ${load(loadAtStart)} at the start,`,
        `${load(loadAtEnd)} at the end, on 2 cores shared with other work). Swarm: the three-node Docker-in-Docker`,
        'cluster of the tests (`test/helpers/swarm-cluster.ts`: a manager and two workers, each a container',
        "with its own dockerd on this machine), Pilot on this machine speaking to the manager's engine, its",
        'Caddy a container on the manager, release images through its registry on the manager',
        "(`test/helpers/swarm-pilot.ts`, as the swarm e2e tests run it). Single host: Pilot on this machine's",
        'engine with its host Caddy. Both with `PILOT_TLS=off`, requests by plain HTTP to Caddy (the',
        "manager's address for the swarm, 127.0.0.1 for one host), the same app: a Node server, `web=3`",
        "(three containers on one host, three tasks spread over the nodes), Pilot's default health check.",
        '',
        `### Push to live (median of ${REPEAT}, the two modes alternating which goes first)`,
        '',
        'From the start of `git push` to the first 200 with the new release through Caddy, and to the end',
        'of `git push` (the rollout done: all three processes replaced). Cold: a new app; warm: a second push',
        'changing one line. Each app is destroyed after its warm push.',
        '',
        table(['mode', 'push', 'first answer s', 'push done s', 'first answer / single host', 'push done / single host'], pushes.rows),
        '',
        `Not in the medians, the first push of each (${pushes.firstPushes}): on the fresh cluster it also`,
        "brings the base image's layers to both workers through the registry, once per cluster.",
        '',
        `### Rolling redeploy of web=3 under load`,
        '',
        `${RATE.keepAlive} req/s on 5 keep-alive connections and ${RATE.fresh} req/s on a fresh connection per request`,
        `(the loads of zero-downtime.ts at lower rates), first for ${STEADY_SECONDS} s with no deploy, then during ${REDEPLOYS}`,
        'redeploys in a row (each pushed once the one before served). One host: blue/green of three',
        'containers; swarm: a rolling update one task at a time, start-first, the tasks on the three nodes',
        `(${placed} nodes held the tasks after the redeploys). p99 ratio against the single host's same row.`,
        '',
        table(['mode', ...LOAD_HEADERS, 'p99 / single host'], redeployRows),
        '',
        `Failed requests (non-2xx and socket errors) during the redeploys: single host ${failed([singleRedeploys.rolling])},`,
        `swarm ${failed([swarmRedeploys.rolling])}.`,
        '',
        `### Node loss (${REPEAT} rounds)`,
        '',
        'Each round starts with three web tasks running, at least one on a worker (a `ps:restart` places them',
        "anew when none is: Swarm does not move tasks back to a node that rejoined), and Caddy routing to exactly",
        'those three. Then, under the same two loads, `docker kill` of the',
        "container of the worker holding the most tasks (the machine is gone at once, no clean leave), and",
        `polling (each poll a few \`docker\` calls on the manager: one every ${seconds(median(losses.map((loss) => loss.pollInterval)))} s here, the resolution), in`,
        'seconds from the kill: **node down**, the manager lists the node `down`; **its addresses out of',
        "Caddy**, Caddy's upstreams (`/reverse_proxy/upstreams` of its admin API) hold no address of the",
        "lost node's tasks; **rescheduled**, three web tasks `Running` (healthy), none on the lost node;",
        "**Caddy = running tasks**, Caddy's upstreams are exactly the three running tasks' addresses, which",
        'ends the window. The node is then started again and rejoins.',
        '',
        table(['round', 'killed node', 'node down s', 'its addresses out of Caddy s', 'rescheduled s', 'Caddy = running tasks s'], lossRows),
        '',
        'The requests during each window (kill to Caddy = running tasks), against the swarm steady state above:',
        '',
        table(LOAD_HEADERS, lossLoadRows),
        '',
        `Failed requests during the node-loss windows, all rounds: ${failed(losses.map((loss) => loss.load))}.`,
      ].join('\n'),
    };
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
