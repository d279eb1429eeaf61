// Bundles the pilot CLI (src/cli/main.ts) into one file that needs nothing but Node.js 20:
// what Pilot serves at GET /cli, for laptops without the server's modules (part of `npm run build`).
// Usage: node scripts/build-cli.mjs [OUTFILE]   (default: dist/pilot-cli.mjs)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outfile = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'pilot-cli.mjs'));

await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ws uses these native speed-ups when they are installed; the bundle goes without them.
  external: ['bufferutil', 'utf-8-validate'],
  define: { PILOT_CLI_VERSION: JSON.stringify(version) },
  // commander and ws are CommonJS: their require() of Node's own modules needs one in ESM.
  banner: { js: "import { createRequire as pilotCreateRequire } from 'node:module';\nconst require = pilotCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
fs.chmodSync(outfile, 0o755);
