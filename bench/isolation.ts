/** Scenario 5: one app under load while another one builds and deploys. */
import { pathToFileURL } from 'node:url';
import { LOAD_HEADERS, REPEAT, appBody, loadRow, median, newRepo, printSection, push, ratio, startTestPilot, steadyLoad, table, until, type LoadResult, type Section, type TestPilot } from './lib.js';

const RATE = 50;
/** Issue 17: the serving app's p99 during another app's cold build, against its idle p99. */
const P99_TARGET = 1.3;
const WEB_APP = {
  'package.json': JSON.stringify({ name: 'quiet', version: '1.0.0', scripts: { start: 'node server.js' } }),
  'server.js': "require('http').createServer((q, s) => s.end('quiet')).listen(process.env.PORT);\n",
};

/** A build that works the machine: real dependencies from the registry, installed cold. */
/** The release log of an app's newest release. */
function buildLog(pilot: TestPilot, app: string): string {
  const row = pilot.server.db.prepare('SELECT r.log FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = ? ORDER BY r.id DESC LIMIT 1').get(app) as { log: string } | undefined;
  return row?.log ?? '';
}

function busyApp(round: number): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'busy', version: `1.0.${round}`, scripts: { start: 'node server.js' }, dependencies: { express: '4.21.2', lodash: '4.17.21' } }),
    'server.js': `require('express')().get('/', (q, s) => s.send('busy ${round}')).listen(process.env.PORT);\n`,
  };
}

export async function run(): Promise<Section> {
  const pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '1' });
  try {
    await push(pilot, await newRepo('bench-quiet', WEB_APP), 'quiet');
    const idle: LoadResult[] = [];
    const during: LoadResult[] = [];
    const deploying: LoadResult[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      const app = `busy${round}`;
      // Two windows: the build itself (what the build caps are for), and the whole push, which
      // also holds the container start, the health check and the route reload of the other app.
      const loadDeploying = steadyLoad({ pilot, app: 'quiet', rate: RATE, connections: 5, freshConnections: false, durationSeconds: 3600 });
      const started = performance.now();
      const pushed = push(pilot, await newRepo('bench-busy', busyApp(round)), app);
      await until(`${app} building`, async () => buildLog(pilot, app).includes('Step 1/'));
      const loadDuring = steadyLoad({ pilot, app: 'quiet', rate: RATE, connections: 5, freshConnections: false, durationSeconds: 3600 });
      const buildStarted = performance.now();
      await until(`${app} built`, async () => /Successfully tagged|build failed/.test(buildLog(pilot, app)));
      loadDuring.stop();
      during.push(await loadDuring.result);
      const buildSeconds = (performance.now() - buildStarted) / 1000;
      await pushed;
      await until(`${app} live`, async () => (await appBody(pilot, app)) === `busy ${round}`);
      loadDeploying.stop();
      deploying.push(await loadDeploying.result);
      const seconds = Math.max(10, Math.round((performance.now() - started) / 1000));
      idle.push(await steadyLoad({ pilot, app: 'quiet', rate: RATE, connections: 5, freshConnections: false, durationSeconds: seconds }).result);
      console.error(`# round ${round + 1}: build ${buildSeconds.toFixed(1)} s, whole push ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await pilot.server.deployer.settle();
      await pilot.server.app.inject({ method: 'DELETE', url: `/api/v1/apps/${app}?confirm=${app}`, headers: { authorization: `Bearer ${pilot.token}` } });
    }
    const failures = [...during, ...deploying].reduce((sum, result) => sum + result.non2xx + result.errors, 0);
    const deployingP99 = median(deploying.map((result) => result.p99));
    const idleP99 = median(idle.map((result) => result.p99));
    const duringP99 = median(during.map((result) => result.p99));
    const p99Ratio = ratio(Math.max(duringP99, 1), Math.max(idleP99, 1));
    return {
      title: "Isolation: an app under load while another app builds",
      body: [
        `App "quiet" under ${RATE} req/s through Caddy (5 keep-alive connections, from a process of their own) while`,
        'another app is built cold (express and lodash from the registry), measured from its first build step to the',
        'end of its build, and over its whole push; baseline: the same load for as long with nothing else running.',
        `${REPEAT} rounds; each row is one round.`,
        '',
        table(LOAD_HEADERS, [
          ...idle.map((result) => loadRow('idle', 'keep-alive', result)),
          ...during.map((result) => loadRow('other app building', 'keep-alive', result)),
          ...deploying.map((result) => loadRow('other app pushed (build, start, check, switch)', 'keep-alive', result)),
        ]),
        '',
        `Builds run capped (PILOT_BUILD_CPUS=${pilot.server.config.buildCpus}, PILOT_BUILD_MEMORY=${Math.round(pilot.server.config.buildMemoryBytes / 1024 ** 2)}m: the defaults, half the host)`,
        'with half the CPU weight of app containers.',
        '',
        `Median p99: ${idleP99} ms idle, ${duringP99} ms while the other app builds (${p99Ratio}x), ${deployingP99} ms over its`,
        `whole push (${ratio(Math.max(deployingP99, 1), Math.max(idleP99, 1))}x; that window adds its container start, health check and route reload).`,
        `Targets: zero failures, p99 while building at most ${P99_TARGET}x idle. Result: **${failures} failed requests** (${failures === 0 ? 'met' : 'missed'}),`,
        `**${p99Ratio}x** (${Number(p99Ratio) <= P99_TARGET ? 'met' : 'missed'}).`,
      ].join('\n'),
    };
  } finally {
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
