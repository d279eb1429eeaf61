/**
 * `GET /api/v1/apps` with 100 live apps, each with a running web process, against an
 * authentication-only request (`GET /api/v1/whoami`) of the same server: what listing apps
 * costs once their state comes from the live state (Docker's events) instead of an inspect per
 * app and request. Target: p99 under 10 ms at concurrency 10.
 */
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { createDockerEngine } from '../src/adapters/docker.js';
import type { SqliteDatabase } from '../src/adapters/db/database.js';
import { createAppStore, createReleaseStore } from '../src/adapters/db/stores.js';
import { DockerRuntime } from '../src/runtime/docker-runtime.js';
import { removeInstanceObjects } from '../test/helpers/integration.js';
import { latency, startServer } from './control-plane.js';
import { installedLaunch, launchLine } from './launch.js';
import { localImages, printSection, ratio, table, type Section } from './lib.js';
import { BASE_CAPABILITIES } from '../src/pipeline/start.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APPS = 100;
/** The server as `npm start` and install.sh run it (a 2 MB young generation, whose scavenges the tail pays for). */
const INSTALLED = installedLaunch();
/** The smallest web process that answers health checks: one Node.js HTTP server. */
const WEB = `node -e "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT)"`;

export async function run(): Promise<Section> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  let instance: string | undefined;
  const server = await startServer(APPS, async (db, name) => {
    instance = name;
    // Nothing may stay behind when the engine refuses part of it.
    await liveApps(db, name).catch(async (error: unknown) => {
      await removeInstanceObjects(name);
      throw error;
    });
  }, INSTALLED);
  try {
    // The first listing and the first health checks are behind us.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const whoami = await latency(`${server.url}/api/v1/whoami`, server.token);
    const list = await latency(`${server.url}/api/v1/apps`, server.token);
    const apps = (await (await fetch(`${server.url}/api/v1/apps`, { headers: { authorization: `Bearer ${server.token}` } })).json()) as { state: string | null }[];
    const running = apps.filter((app) => app.state === 'running').length;
    if (running !== APPS) throw new Error(`${running} of ${APPS} apps show running: the list is not what it measures`);
    return {
      title: 'Listing apps from the live state',
      body: [
        `\`GET /api/v1/apps\` with ${APPS} live apps (one running web process each, every one shown \`running\`),`,
        `against \`GET /api/v1/whoami\` (authentication only) on the same built server (\`${launchLine(INSTALLED)}\`, as install.sh runs it),`,
        'concurrency 10 for 10 s (autocannon, which sends no If-None-Match: every answer is a full 200).',
        'Before the live state the list inspected every app\'s container per request: p50 26 ms, p99 109 ms, 272 req/s.',
        '',
        table(['request', 'p50 ms', 'p99 ms', 'req/s', 'p99 vs baseline', 'req/s vs baseline'], [
          ['GET /api/v1/whoami (baseline)', whoami.p50, whoami.p99, whoami.rate, '1.00', '1.00'],
          [`GET /api/v1/apps (${APPS} apps)`, list.p50, list.p99, list.rate, ratio(list.p99, whoami.p99), ratio(list.rate, whoami.rate)],
        ]),
        '',
        `Target: p99 under 10 ms. Result: ${list.p99} ms (${list.p99 < 10 ? 'met' : 'not met'}).`,
      ].join('\n'),
    };
  } finally {
    await server.stop();
    if (instance) await removeInstanceObjects(instance);
  }
}

/** Each app gets a live v1 whose web.1 runs in the engine, as a deploy would have left it. */
async function liveApps(db: SqliteDatabase, instance: string): Promise<void> {
  const runtime = new DockerRuntime(createDockerEngine(new Docker()), instance);
  const releases = createReleaseStore(db);
  const image = localImages().nodeImage.replace('{{major}}', '20');
  for (const app of createAppStore(db).list()) {
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: {} });
    const spec = { instance, app: app.name, version: release.version, image, config: {}, port: 5000, memoryBytes: 64 * 1024 ** 2, cpus: 0.5, volumes: [], linkedNetworks: [], capabilities: BASE_CAPABILITIES, pidsLimit: 512 };
    const [web] = await runtime.start(spec, [{ identity: { app: app.name, release: release.version, slot: 'blue', type: 'web', index: 1 }, command: WEB }], () => undefined);
    await runtime.keepServing([web!]);
    releases.update(release.id, { image, port: 5000, processes: { web: WEB }, slot: 'blue', containerId: web!.id });
    releases.transition(release.id, 'starting');
    releases.transition(release.id, 'checking');
    releases.promote(release.id);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
