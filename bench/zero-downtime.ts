/** Scenario 1: a steady load through Caddy on a Node app while it is redeployed 10 times. */
import { pathToFileURL } from 'node:url';
import { LOAD_HEADERS, appBody, loadRow, newRepo, printSection, push, startTestPilot, steadyLoad, table, until, type Section } from './lib.js';

const REDEPLOYS = Number(process.env.BENCH_REDEPLOYS ?? 10);
const RATE = { keepAlive: 100, fresh: 40 };

function appFiles(version: number): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'steady', version: '1.0.0', scripts: { start: 'node server.js' } }),
    'server.js': `require('http').createServer((q, s) => s.end('v${version}')).listen(process.env.PORT);\n`,
  };
}

export async function run(): Promise<Section> {
  const pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '5' });
  try {
    const client = await newRepo('bench-steady', appFiles(0));
    await push(pilot, client, 'steady');

    // Baseline: the same load with no deploy, as long as the redeploys take (at least 20 s).
    const loads = (durationSeconds: number) => [
      steadyLoad({ pilot, app: 'steady', rate: RATE.keepAlive, connections: 10, freshConnections: false, durationSeconds }),
      steadyLoad({ pilot, app: 'steady', rate: RATE.fresh, connections: 4, freshConnections: true, durationSeconds }),
    ];
    const deployStarted = performance.now();
    const during = loads(3600);
    for (let version = 1; version <= REDEPLOYS; version += 1) {
      await client.commit(appFiles(version));
      await push(pilot, client, 'steady');
      await until(`v${version} serving`, async () => (await appBody(pilot, 'steady')) === `v${version}`);
    }
    // Keep the load through the last drain and retirement.
    await pilot.server.deployer.settle();
    for (const load of during) load.stop();
    const [duringKeepAlive, duringFresh] = await Promise.all(during.map((load) => load.result));
    const deploySeconds = Math.max(20, Math.round((performance.now() - deployStarted) / 1000));
    const steady = loads(deploySeconds);
    const [steadyKeepAlive, steadyFresh] = await Promise.all(steady.map((load) => load.result));

    const rows = [
      loadRow('steady state (no deploy)', 'keep-alive', steadyKeepAlive!),
      loadRow('steady state (no deploy)', 'fresh per request', steadyFresh!),
      loadRow(`${REDEPLOYS} redeploys`, 'keep-alive', duringKeepAlive!),
      loadRow(`${REDEPLOYS} redeploys`, 'fresh per request', duringFresh!),
    ];
    const failures = [duringKeepAlive!, duringFresh!].reduce((sum, result) => sum + result.non2xx + result.errors, 0);
    return {
      title: 'Zero downtime: load through Caddy during 10 redeploys',
      body: [
        `A Node app under ${RATE.keepAlive} req/s on 10 keep-alive connections and ${RATE.fresh} req/s on a fresh`,
        `connection per request (autocannon, HTTPS through Caddy), redeployed ${REDEPLOYS} times in a row`,
        `(${deploySeconds} s); the baseline is the same load for as long with no deploy.`,
        '',
        table(LOAD_HEADERS, rows),
        '',
        `Target: zero failures during the redeploys. Result: **${failures} failed requests** (${failures === 0 ? 'met' : 'missed'}).`,
      ].join('\n'),
    };
  } finally {
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
