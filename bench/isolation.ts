/** Scenario 5: one app under load while another one builds and deploys. */
import { pathToFileURL } from 'node:url';
import { LOAD_HEADERS, REPEAT, appBody, loadRow, median, newRepo, printSection, push, ratio, startTestPilot, steadyLoad, table, until, type LoadResult, type Section } from './lib.js';

const RATE = 50;
/** Issue 17: the serving app's p99 during another app's cold build, against its idle p99. */
const P99_TARGET = 1.3;
const WEB_APP = {
  'package.json': JSON.stringify({ name: 'quiet', version: '1.0.0', scripts: { start: 'node server.js' } }),
  'server.js': "require('http').createServer((q, s) => s.end('quiet')).listen(process.env.PORT);\n",
};

/** A build that works the machine: real dependencies from the registry, installed cold. */
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
    for (let round = 0; round < REPEAT; round += 1) {
      const app = `busy${round}`;
      const loadDuring = steadyLoad({ pilot, app: 'quiet', rate: RATE, connections: 5, freshConnections: false, durationSeconds: 3600 });
      const started = performance.now();
      await push(pilot, await newRepo('bench-busy', busyApp(round)), app);
      await until(`${app} live`, async () => (await appBody(pilot, app)) === `busy ${round}`);
      loadDuring.stop();
      during.push(await loadDuring.result);
      const seconds = Math.max(10, Math.round((performance.now() - started) / 1000));
      idle.push(await steadyLoad({ pilot, app: 'quiet', rate: RATE, connections: 5, freshConnections: false, durationSeconds: seconds }).result);
      await pilot.server.deployer.settle();
      await pilot.server.app.inject({ method: 'DELETE', url: `/api/v1/apps/${app}?confirm=${app}`, headers: { authorization: `Bearer ${pilot.token}` } });
    }
    const failures = during.reduce((sum, result) => sum + result.non2xx + result.errors, 0);
    const idleP99 = median(idle.map((result) => result.p99));
    const duringP99 = median(during.map((result) => result.p99));
    const p99Ratio = ratio(Math.max(duringP99, 1), Math.max(idleP99, 1));
    return {
      title: "Isolation: an app under load while another app builds",
      body: [
        `App "quiet" under ${RATE} req/s through Caddy (5 keep-alive connections) while another app is built cold`,
        '(express and lodash from the registry) and deployed; baseline: the same load for as long with nothing',
        `else running. ${REPEAT} rounds; each row is one round.`,
        '',
        table(LOAD_HEADERS, [...idle.map((result) => loadRow('idle', 'keep-alive', result)), ...during.map((result) => loadRow('other app building', 'keep-alive', result))]),
        '',
        `Builds run capped (PILOT_BUILD_CPUS=${pilot.server.config.buildCpus}, PILOT_BUILD_MEMORY=${Math.round(pilot.server.config.buildMemoryBytes / 1024 ** 2)}m: the defaults, half the host)`,
        'with half the CPU weight of app containers.',
        '',
        `Median p99: ${idleP99} ms idle, ${duringP99} ms while the other app builds (${p99Ratio}x).`,
        `Targets: zero failures, p99 while building at most ${P99_TARGET}x idle. Result: **${failures} failed requests** (${failures === 0 ? 'met' : 'missed'}),`,
        `**${p99Ratio}x** (${Number(p99Ratio) <= P99_TARGET ? 'met' : 'missed'}).`,
      ].join('\n'),
    };
  } finally {
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
