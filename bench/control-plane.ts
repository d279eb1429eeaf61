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
import { freePort, testInstanceName } from '../test/helpers/integration.js';
import { REPEAT, localImages, median, printSection, ratio, startTestPilot, table, tempDir, until, type Section } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A built Pilot server (node dist/main.js) as users run it, on a data directory holding `apps`
 * apps; `prepare` may add to its database (releases) and the engine (their processes) first.
 */
export async function startServer(
  apps: number,
  prepare: (db: ReturnType<typeof openDatabase>, instance: string) => Promise<void> = async () => undefined,
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
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
    env: {
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
    },
  };
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

export async function latency(url: string, token: string): Promise<{ p50: number; p99: number; rate: number }> {
  const result = await autocannon({ url, connections: 10, duration: 10, headers: { authorization: `Bearer ${token}` } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p50: result.latency.p50, p99: result.latency.p99, rate: Math.round(result.requests.average) };
}

export async function run(): Promise<Section> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const rows: (string | number)[][] = [];
  const memory: Record<number, number> = {};
  for (const apps of [0, 100]) {
    const server = await startServer(apps);
    try {
      // Idle: after start, no request for a while.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      memory[apps] = rssMiB(server.pid);
      if (apps === 100) {
        const list = await latency(`${server.url}/api/v1/apps`, server.token);
        const whoami = await latency(`${server.url}/api/v1/whoami`, server.token);
        rows.push(['GET /api/v1/whoami (baseline: authentication only)', whoami.p50, whoami.p99, whoami.rate]);
        rows.push(['GET /api/v1/apps (100 apps)', list.p50, list.p99, list.rate]);
      }
    } finally {
      await server.stop();
    }
  }

  const reloads = await reloadTimes([0, 10, 100, 300]);
  return {
    title: 'Control plane: memory, API latency, routes reload',
    body: [
      'Idle RSS of the built server (`node dist/main.js`) 5 s after start, with 0 apps (baseline) and 100 apps:',
      '',
      table(['apps', 'RSS MiB', 'vs 0 apps'], [
        [0, memory[0]!.toFixed(1), '1.00'],
        [100, memory[100]!.toFixed(1), ratio(memory[100]!, memory[0]!)],
      ]),
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
