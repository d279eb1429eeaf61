/** `npm run bench`: every scenario in turn, printed and written to bench/RESULTS.md. */
import { printSection, writeResults, type Section } from './lib.js';
import { run as zeroDowntime } from './zero-downtime.js';
import { run as pushToLive } from './push-to-live.js';
import { run as warmRebuild } from './warm-rebuild.js';
import { run as controlPlane } from './control-plane.js';
import { run as isolation } from './isolation.js';
import { run as nextApp } from './next-app.js';
import { run as appList } from './app-list.js';
import { run as dashboard } from './dashboard.js';
import { run as swarm } from './swarm.js';

const scenarios: [string, () => Promise<Section>][] = [
  ['zero downtime', zeroDowntime],
  ['push to live', pushToLive],
  ['warm rebuild', warmRebuild],
  ['control plane', controlPlane],
  ['isolation', isolation],
  ['Next.js app', nextApp],
  ['app list', appList],
  ['dashboard', dashboard],
  ['swarm mode', swarm],
];

const sections: Section[] = [];
const failed: string[] = [];
for (const [name, scenario] of scenarios) {
  console.error(`\n=== ${name}`);
  try {
    const section = await scenario();
    printSection(section);
    sections.push(section);
  } catch (error) {
    // A scenario that could not run is a failure of the benchmark; a missed target is not.
    console.error(`${name} could not run:`, error);
    failed.push(name);
    sections.push({ title: name, body: `Could not run: ${error instanceof Error ? error.message : String(error)}` });
  }
}
console.error(`\nwrote ${writeResults(sections)}`);
if (failed.length > 0) {
  console.error(`scenarios that could not run: ${failed.join(', ')}`);
  process.exitCode = 1;
}
