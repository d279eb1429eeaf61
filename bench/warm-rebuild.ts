/** Scenario 3: a Node app with real dependencies, pushed cold, then again with one source file changed. */
import { pathToFileURL } from 'node:url';
import { REPEAT, median, printSection, ratio, seconds, startTestPilot, table, type Section } from './lib.js';
import { pilotPushes } from './builds.js';

/** Real dependencies from the npm registry: a web framework and utilities (a few hundred files). */
const FILES = {
  'package.json': JSON.stringify({
    name: 'deps-app',
    version: '1.0.0',
    engines: { node: '20.x' },
    scripts: { start: 'node server.js' },
    dependencies: { express: '4.21.2', lodash: '4.17.21', dayjs: '1.11.13', uuid: '11.0.5' },
  }),
  'server.js':
    "const express = require('express');\nconst _ = require('lodash');\nconst message = require('./message.js');\n" +
    "express().get('/', (q, s) => s.send(_.upperFirst(message))).listen(process.env.PORT);\n",
  'message.js': "module.exports = 'cold build';\n",
};

export async function run(): Promise<Section> {
  const pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '1' });
  try {
    const cold: number[] = [];
    const warm: number[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      const result = await pilotPushes(pilot, `warm${round}`, FILES, { 'message.js': "module.exports = 'warm build';\n" }, { cold: 'Cold build', warm: 'Warm build' });
      cold.push(result.cold);
      warm.push(result.warm);
    }
    const value = median(warm) / median(cold);
    return {
      title: 'Warm rebuild: a source-only change after a cold push',
      body: [
        `A Node app with express, lodash, dayjs and uuid from the npm registry (\`npm install\`), pushed to a new`,
        `app (cold), then pushed again with one source file changed (warm): git push to the first answer of`,
        `the new release through Caddy, median of ${REPEAT}.`,
        '',
        table(['push', 'seconds'], [
          ['cold', seconds(median(cold))],
          ['warm (dependency layer from the cache)', seconds(median(warm))],
          ['warm / cold', ratio(median(warm), median(cold))],
        ]),
        '',
        `Target: 0.3 or less. Result: ${value.toFixed(2)} (${value <= 0.3 ? 'met' : 'missed'}).`,
      ].join('\n'),
    };
  } finally {
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
