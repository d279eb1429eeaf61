// Bundles the server (src/main.ts) into dist/server/: what `npm start`, install.sh's pilot-server and
// its systemd unit run (part of `npm run build`).
//
// Why a bundle: an idle Pilot's memory is mostly code, and V8 keeps the source text of every module it
// loads (bench/RESULTS.md). One minified file per load boundary holds the same code in ~10 MiB less
// RSS than ~1,100 separate modules. What the server imports lazily (`import()`: the dashboard's
// views, archives, prom-client, node-git-server, ...) becomes a chunk of its own, still loaded at
// its first use. Names are kept (error classes and plugin names read them) and a source map is
// written beside it: `NODE_OPTIONS=--enable-source-maps` gives stack traces with src/ lines.
//
// Usage: node scripts/build-server.mjs [OUTDIR]   (default: dist/server)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Two levels below the checkout, as src/adapters and dist/adapters are: PROJECT_ROOT holds for all three.
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'server'));

fs.rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(root, 'src', 'main.ts') },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Some CommonJS packages (jsonc-parser) point `main` at a UMD build esbuild cannot follow.
  mainFields: ['module', 'main'],
  external: [
    // A native addon: found and loaded from node_modules at run time.
    'better-sqlite3',
    // dockerode's transports an idle Pilot never uses, replaced by stand-ins until their first use
    // (src/adapters/docker/transports-on-first-use.ts): bundled, they would load at start.
    'ssh2', '@grpc/grpc-js', '@grpc/proto-loader',
    // Optional native speed-ups of ws and ssh2, used when installed.
    'bufferutil', 'utf-8-validate', 'cpu-features',
  ],
  // CommonJS packages require() Node's own modules: an ES module needs a require for them.
  banner: { js: "import { createRequire as pilotCreateRequire } from 'node:module';\nconst require = pilotCreateRequire(import.meta.url);" },
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
fs.chmodSync(path.join(outdir, 'main.mjs'), 0o755);
