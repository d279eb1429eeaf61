/** Scenario 2: from `git push` to the first answer of the new release, against docker build + run. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPEAT, median, printSection, ratio, seconds, startTestPilot, table, type Section } from './lib.js';
import { baselinePushes, pilotPushes } from './builds.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'node-app');

function nodeApp(): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(FIXTURE).map((file) => [file, fs.readFileSync(path.join(FIXTURE, file), 'utf8')]));
}

interface BenchApp {
  readonly kind: string;
  readonly files: Record<string, string>;
  readonly change: Record<string, string>;
  readonly expected: { readonly cold: string; readonly warm: string };
}

const APPS: readonly BenchApp[] = [
  {
    kind: 'static site',
    files: { 'index.html': '<h1>cold</h1>' },
    change: { 'index.html': '<h1>warm</h1>' },
    expected: { cold: '<h1>cold</h1>', warm: '<h1>warm</h1>' },
  },
  {
    kind: 'Node app (npm ci, build script)',
    files: nodeApp(),
    change: { 'message.js': "module.exports = 'hello from v2';" },
    expected: {
      cold: 'hello from v1 | ms: 1m | built: true | dev pruned: true | env: production',
      warm: 'hello from v2 | ms: 1m | built: true | dev pruned: true | env: production',
    },
  },
];

export async function run(): Promise<Section> {
  const pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '1' });
  try {
    const rows: (string | number)[][] = [];
    const ratios: { kind: string; cold: number; warm: number }[] = [];
    for (const [index, app] of APPS.entries()) {
      const times = { pilotCold: [] as number[], pilotWarm: [] as number[], baseCold: [] as number[], baseWarm: [] as number[] };
      for (let round = 0; round < REPEAT; round += 1) {
        const name = `ptl${index}r${round}`;
        const pilotRun = async () => {
          const result = await pilotPushes(pilot, name, app.files, app.change, app.expected);
          times.pilotCold.push(result.cold);
          times.pilotWarm.push(result.warm);
        };
        const baseRun = async () => {
          const result = await baselinePushes(pilot, name, app.files, app.change, app.expected);
          times.baseCold.push(result.cold);
          times.baseWarm.push(result.warm);
        };
        // Alternate which side goes first: the machine warms up and cools down too.
        if (round % 2 === 0) {
          await pilotRun();
          await baseRun();
        } else {
          await baseRun();
          await pilotRun();
        }
      }
      for (const phase of ['cold', 'warm'] as const) {
        const pilotMedian = median(phase === 'cold' ? times.pilotCold : times.pilotWarm);
        const baseMedian = median(phase === 'cold' ? times.baseCold : times.baseWarm);
        rows.push([app.kind, phase, seconds(pilotMedian), seconds(baseMedian), ratio(pilotMedian, baseMedian)]);
      }
      ratios.push({
        kind: app.kind,
        cold: median(times.pilotCold) / median(times.baseCold),
        warm: median(times.pilotWarm) / median(times.baseWarm),
      });
    }
    const verdict = ratios
      .map((entry) => `${entry.kind}: cold ${entry.cold.toFixed(2)} (${entry.cold <= 1.15 ? 'met' : 'missed'}), warm ${entry.warm.toFixed(2)} (${entry.warm <= 1.5 ? 'met' : 'missed'})`)
      .join('; ');
    return {
      title: 'Push to live: git push to the first answer of the new release',
      body: [
        `Median of ${REPEAT} rounds, Pilot and baseline alternating which goes first. Pilot: from the start of`,
        '`git push` to the first 200 with the new content through Caddy (cold: a new app, no build cache;',
        'warm: a second push changing one source file). Baseline: `docker build` of the Dockerfile Pilot',
        'generates (`--no-cache` when cold) + `docker run` + the first 200 straight from the container.',
        '',
        table(['app', 'build', 'Pilot s', 'baseline s', 'Pilot / baseline'], rows),
        '',
        `Targets: cold 1.15 or less, warm 1.5 or less. ${verdict}.`,
        '',
        "Pilot's time holds what the baseline does not do: the git push itself (HTTP round trips with",
        "authentication, the pack, the hook's start: about 0.13 s here), the health check's polling and the",
        "switch of Caddy's routes. On a static site, whose whole build takes about half a second, that fixed",
        'cost weighs most.',
      ].join('\n'),
    };
  } finally {
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
