/** How the built server is started for real (`npm start`, install.sh): the benchmarks and a unit test read it here. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How the server is started for real: its environment and Node options. */
export interface Launch {
  readonly env: Readonly<Record<string, string>>;
  readonly nodeFlags: readonly string[];
  /** The script node runs, relative to the checkout (the bundle of scripts/build-server.mjs). */
  readonly entry: string;
}

/** The server as tsc builds it, one file per module: what the bundle is measured against. */
export const MODULES_ENTRY = 'dist/main.js';

/**
 * How `npm start` runs the built server (package.json's `start`: `[NAME=value ...] node [flags]
 * dist/server/main.mjs`); install.sh's `pilot-server` and systemd unit run it the same way
 * (test/unit/scripts/server-launch.test.ts). The benchmarks start the server so.
 */
export function installedLaunch(root: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')): Launch {
  const start = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = start.trim().split(/\s+/);
  const node = words.indexOf('node');
  const entry = words.at(-1) ?? '';
  if (node < 0 || !entry.startsWith('dist/')) throw new Error(`package.json's start script is not "[NAME=value ...] node [flags] dist/...": ${start}`);
  const env = Object.fromEntries(words.slice(0, node).map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]));
  return { env, nodeFlags: words.slice(node + 1, -1), entry };
}

/** The launch as a shell line, for the tables. */
export const launchLine = (launch: Launch): string =>
  [...Object.entries(launch.env).map(([name, value]) => `${name}=${value}`), 'node', ...launch.nodeFlags, launch.entry].join(' ');
