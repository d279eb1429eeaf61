/** Scenario 4: what the control plane costs: idle memory, API latency, routes reload time. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { openDatabase } from '../src/adapters/db/database.js';
import { createAppStore } from '../src/adapters/db/stores.js';
import { adminAddressForCaddyfile } from '../src/adapters/caddy/admin.js';
import { createTemplateRenderer } from '../src/adapters/templates.js';
import { buildCaddyfileContext, type AppRoute } from '../src/pipeline/routes.js';
import { freePort, removeInstanceObjects, testInstanceName } from '../test/helpers/integration.js';
import { REPEAT, localImages, median, printSection, ratio, startTestPilot, table, tempDir, until, type Section } from './lib.js';
import { MODULES_ENTRY, installedLaunch, launchLine, type Launch } from './launch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The server's runtime dependencies, each measured alone. */
const DEPENDENCIES = [
  'fastify', '@fastify/swagger', '@fastify/websocket', '@fastify/rate-limit', '@fastify/ajv-compiler', 'dockerode', 'better-sqlite3', 'typebox',
  'typebox/compile', 'pino', 'handlebars', 'node-git-server', 'prom-client', 'ws', 'yaml', 'tar-fs', 'semver', 'croner', 'jsonc-parser',
];

/** How install.sh and `npm start` run the server (its environment and Node options). */
const INSTALLED = installedLaunch();

/**
 * A built Pilot server (node [flags] dist/server/main.mjs) as users run it, on a data directory holding
 * `apps` apps; `prepare` may add to its database (releases) and the engine (their processes) first.
 */
export async function startServer(
  apps: number,
  prepare: (db: ReturnType<typeof openDatabase>, instance: string) => Promise<void> = async () => undefined,
  launch: Launch = INSTALLED,
): Promise<{ pid: number; url: string; token: string; instance: string; stop(): Promise<void> }> {
  const dataDir = tempDir('bench-cp');
  const instance = testInstanceName();
  const db = openDatabase(path.join(dataDir, 'pilot.db'));
  const store = createAppStore(db);
  for (let index = 0; index < apps; index += 1) store.create(`app-${index}`);
  await prepare(db, instance);
  db.close();
  const [port, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const token = `bench-admin-token-${Date.now()}`;
  const child = spawn(process.execPath, [...launch.nodeFlags, path.join(ROOT, launch.entry)], {
    env: {
      ...launch.env,
      PATH: process.env.PATH,
      PILOT_DATA_DIR: dataDir,
      PILOT_PORT: String(port),
      PILOT_HTTP_PORT: String(httpPort),
      PILOT_HTTPS_PORT: String(httpsPort),
      PILOT_INSTANCE: instance,
      PILOT_ADMIN_TOKEN: token,
      PILOT_LOG_LEVEL: 'warn',
      PILOT_NODE_IMAGE: localImages().nodeImage,
      PILOT_STATIC_IMAGE: localImages().staticImage,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await until('the server to answer /health', async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, 60_000);
  return {
    pid: child.pid as number,
    url,
    token,
    instance,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      // Its Caddy outlives it by design; this one belongs to the benchmark.
      try {
        execFileSync('pkill', ['-f', dataDir]);
      } catch {
        // Already gone.
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      // The network it made at start.
      await removeInstanceObjects(instance);
    },
  };
}

function rssMiB(pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile' = 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

/** How long an idle server runs before its RSS is read: V8 gives back the garbage of the start (its memory reducer) within a minute. */
export const IDLE_SETTLE_MS = 60_000;
/** Idle servers measured (at once) per row: their median is reported. */
const IDLE_SAMPLES = 3;

/**
 * RSS of `IDLE_SAMPLES` servers (run at once) after IDLE_SETTLE_MS of no request: the median
 * sample. Read 5 s after start, an idle server still holds its start's garbage (bench/RESULTS.md).
 */
async function idleServerRss(apps: number, launch: Launch): Promise<{ rss: number; anon: number; file: number; samples: number[] }> {
  const servers = await Promise.all(Array.from({ length: IDLE_SAMPLES }, () => startServer(apps, undefined, launch)));
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const read = servers.map((server) => ({ rss: rssMiB(server.pid), anon: rssMiB(server.pid, 'RssAnon'), file: rssMiB(server.pid, 'RssFile') }));
    const middle = [...read].sort((a, b) => a.rss - b.rss)[Math.floor(read.length / 2)]!;
    return { ...middle, samples: read.map((sample) => sample.rss) };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** RSS of a Node process (with the installed flags) that runs `script` and then idles; what a server is made of before it does anything. */
async function idleNodeRss(script: string): Promise<{ rss: number; anon: number; file: number }> {
  const child = spawn(process.execPath, [...INSTALLED.nodeFlags, '--input-type=module', '-e', `${script}; setInterval(() => {}, 1000); process.stdout.write('ready')`], {
    cwd: ROOT, env: { ...process.env, ...INSTALLED.env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise((resolve) => child.stdout.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const pid = child.pid as number;
    return { rss: rssMiB(pid), anon: rssMiB(pid, 'RssAnon'), file: rssMiB(pid, 'RssFile') };
  } finally {
    child.kill();
  }
}

export async function latency(url: string, token: string): Promise<{ p50: number; p99: number; rate: number }> {
  const result = await autocannon({ url, connections: 10, duration: 10, headers: { authorization: `Bearer ${token}` } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p50: result.latency.p50, p99: result.latency.p99, rate: Math.round(result.requests.average) };
}

export async function run(): Promise<Section> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const rows: (string | number)[][] = [];
  const memory: { label: string; rss: number; anon: number; file: number; samples: number[] }[] = [];
  // Baseline: the server as tsc builds it (one file per module), started by plain `node`.
  const modulesLaunch: Launch = { env: {}, nodeFlags: [], entry: MODULES_ENTRY };
  const modulesWithFlags: Launch = { ...INSTALLED, entry: MODULES_ENTRY };
  for (const [apps, launch] of [[0, modulesLaunch], [100, modulesLaunch], [100, modulesWithFlags], [0, INSTALLED], [100, INSTALLED]] as const) {
    const installed = launch === INSTALLED;
    const label = `${apps} apps, \`${launchLine(launch)}\`${installed ? ' (as install.sh and `npm start` run it)' : ''}`;
    memory.push({ label, ...(await idleServerRss(apps, launch)) });
    if (apps === 100 && installed) {
      const server = await startServer(apps, undefined, launch);
      try {
        const list = await latency(`${server.url}/api/v1/apps`, server.token);
        const whoami = await latency(`${server.url}/api/v1/whoami`, server.token);
        rows.push(['GET /api/v1/whoami (baseline: authentication only)', whoami.p50, whoami.p99, whoami.rate]);
        rows.push(['GET /api/v1/apps (100 apps)', list.p50, list.p99, list.rate]);
      } finally {
        await server.stop();
      }
    }
  }
  const bare = await idleNodeRss('0');
  const loaded = await idleNodeRss(`await import('./dist/composition.js')`);
  const dependencies: [string, number][] = [];
  for (const name of DEPENDENCIES) dependencies.push([name, (await idleNodeRss(`await import('${name}')`)).rss - bare.rss]);
  dependencies.sort((a, b) => b[1] - a[1]);

  const reloads = await reloadTimes([0, 10, 100, 300]);
  return {
    title: 'Control plane: memory, API latency, routes reload',
    body: [
      `Idle RSS of the built server ${IDLE_SETTLE_MS / 1000} s after start (no request but the first \`/health\`), median of`,
      `${IDLE_SAMPLES} servers run at once, with 0 apps (baseline) and 100 apps: as tsc builds it (\`${MODULES_ENTRY}\`, one file per`,
      'module), and as install.sh and `npm start` run it: the bundle of scripts/build-server.mjs (one minified file per',
      "load boundary; V8 keeps every loaded module's source text), a young generation of 2 MB (V8's default lets it grow",
      'to 16 MB per semi-space during the start, and an idle server never gives it back), two glibc malloc arenas',
      'instead of one per thread. Anonymous memory is',
      "Node's heaps and the libraries' own; file-backed is the code of `node` and the native modules:",
      '',
      table(['server', 'RSS MiB', 'anonymous MiB', 'file-backed MiB', 'vs first row'], memory.map((entry) => [
        entry.label, entry.rss.toFixed(1), entry.anon.toFixed(1), entry.file.toFixed(1), ratio(entry.rss, memory[0]!.rss),
      ])),
      '',
      `The ${IDLE_SAMPLES} samples of each row (MiB): ${memory.map((entry, index) => `row ${index + 1}: ${entry.samples.map((rss) => rss.toFixed(1)).join(', ')}`).join('; ')}.`,
      '',
      'Where it goes (with the installed flags, idle 2 s; the modules row imports `dist/composition.js` as tsc builds it,',
      'which loads every module the server loads, and does nothing):',
      '',
      table(['process', 'RSS MiB', 'anonymous MiB', 'file-backed MiB'], [
        ['bare `node`', bare.rss.toFixed(1), bare.anon.toFixed(1), bare.file.toFixed(1)],
        ["Pilot's modules loaded", loaded.rss.toFixed(1), loaded.anon.toFixed(1), loaded.file.toFixed(1)],
        ['the idle server, 100 apps', memory[4]!.rss.toFixed(1), memory[4]!.anon.toFixed(1), memory[4]!.file.toFixed(1)],
      ]),
      '',
      'Each dependency imported alone, RSS over bare `node` (modules they share count in each row, so the rows add up to more',
      'than the modules row):',
      '',
      table(['dependency', 'MiB over bare node'], dependencies.map(([name, mib]) => [`\`${name}\``, mib.toFixed(1)])),
      '',
      'API latency at concurrency 10 for 10 s (autocannon), 100 apps in the database:',
      '',
      table(['request', 'p50 ms', 'p99 ms', 'req/s'], rows),
      '',
      `One routes reload (render \`Caddyfile.tmpl\` + load through Caddy's admin API), median of ${Math.max(REPEAT, 5)},`,
      'with N apps routed to synthetic upstreams (Caddy does not dial them at load), after a first load',
      'that let Caddy issue the local certificates:',
      '',
      table(['apps', 'reload ms', 'vs 0 apps'], reloads.map((entry) => [entry.apps, entry.ms.toFixed(0), ratio(entry.ms, reloads[0]!.ms)])),
    ].join('\n'),
  };
}

async function reloadTimes(counts: readonly number[]): Promise<{ apps: number; ms: number }[]> {
  const pilot = await startTestPilot();
  try {
    const templates = createTemplateRenderer();
    const settings = {
      adminAddress: adminAddressForCaddyfile(pilot.server.caddyAdmin.endpoint),
      domain: pilot.domain,
      httpPort: pilot.httpPort,
      httpsPort: pilot.httpsPort,
      tls: 'internal' as const,
      acmeEmail: undefined,
      controlPlaneUpstream: pilot.server.address.replace('http://', ''),
      streamCloseDelay: undefined,
    };
    const results: { apps: number; ms: number }[] = [];
    for (const count of counts) {
      const routes: AppRoute[] = Array.from({ length: count }, (_, index) => ({
        id: index + 1,
        name: `app-${index}`,
        hosts: [`app-${index}.${pilot.domain}`],
        upstreams: [`10.77.${Math.floor(index / 250)}.${(index % 250) + 1}:5000`],
      }));
      const once = async (): Promise<number> => {
        const started = performance.now();
        await pilot.server.caddyAdmin.load(templates.renderCaddyfile(buildCaddyfileContext(settings, routes)));
        return performance.now() - started;
      };
      await once();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const times: number[] = [];
      for (let round = 0; round < Math.max(REPEAT, 5); round += 1) times.push(await once());
      results.push({ apps: count, ms: median(times) });
    }
    return results;
  } finally {
    await pilot.server.routes.reload().catch(() => undefined);
    await pilot.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
