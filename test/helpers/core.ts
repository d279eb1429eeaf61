import { AppService, type AppServiceDeps } from '../../src/services/apps.js';
import { createPreviewStore } from '../../src/adapters/db/preview-store.js';
import pino from 'pino';
import { openDatabase } from '../../src/adapters/db/database.js';
import {
  createAppStore, createConfigStore, createDomainStore, createEventStore, createFormationStore, createReleaseStore, createVolumeStore,
} from '../../src/adapters/db/stores.js';
import { createTemplateRenderer } from '../../src/adapters/templates.js';
import { LISTED_TABLES, countWrites } from '../../src/adapters/db/write-counter.js';
import { loadConfig } from '../../src/config.js';
import type { ImageEngine, ImageOrigin, Workspaces } from '../../src/domain/ports.js';
import type { App, Release } from '../../src/domain/types.js';
import { Deployer } from '../../src/pipeline/deploy.js';
import { Rollout } from '../../src/pipeline/rollout.js';
import { RouteTable } from '../../src/pipeline/switch.js';
import { ProcessControl } from '../../src/services/processes.js';
import { LiveState } from '../../src/services/live-state.js';
import { Events } from '../../src/services/events.js';
import { recordProcessEvents } from '../../src/services/process-events.js';
import { FakeRollingRuntime, FakeRouteLoader, FakeRuntime } from './fake-runtime.js';
import { SOMEONE, goLive } from './releases.js';

/** The image side, faked: builds succeed (or fail, as scripted) and images exist unless pruned. */
export class FakeImages implements ImageEngine {
  readonly removed: string[] = [];
  readonly built: string[] = [];
  /** The next build fails with this Docker message. */
  buildFailure: string | undefined;
  readonly pruned = new Set<string>();

  async buildImage(request: Parameters<ImageEngine['buildImage']>[0], onOutput: (line: string) => void) {
    onOutput('Step 1/2 : FROM pilot-local/node:20');
    if (this.buildFailure) throw new Error(this.buildFailure);
    this.built.push(request.tag);
    return { stageImages: [] };
  }
  async exposedPort(): Promise<number | undefined> {
    return 5000;
  }
  async removeImage(name: string): Promise<void> {
    this.removed.push(name);
    this.pruned.add(name);
  }
  async copyFromImage(): Promise<void> {}
  async imageExists(name: string): Promise<boolean> {
    return !this.pruned.has(name);
  }
  /** Every image a test builds from is a registry's, without ONBUILD triggers. */
  async imageOrigin(): Promise<ImageOrigin> {
    return { fromRegistry: true, onBuild: [] };
  }
  async listImages(): Promise<string[]> {
    return [];
  }
  /** Images the engine "has": ensureImage of any other name fails as a pull with no registry would. */
  readonly local = new Set<string>(['example/prebuilt:1']);
  /** Tags made, `image → tag`. */
  readonly tagged: [string, string][] = [];
  async ensureImage(name: string): Promise<void> {
    if (!this.local.has(name)) throw new Error(`the engine has no image ${name} and cannot pull it: no registry`);
  }
  async loadImage(archive: NodeJS.ReadableStream): Promise<string> {
    for await (const chunk of archive) void chunk;
    return 'example/loaded:2';
  }
  async tagImage(image: string, tag: string): Promise<string> {
    this.tagged.push([image, tag]);
    return 'sha256:' + 'ab'.repeat(32);
  }
}

/** Swarm mode's registry, faked: what each collection kept. */
export class FakeRegistry {
  readonly collected: { app: string; keepTags: readonly string[] }[] = [];
  async collect(app: string, keepTags: () => readonly string[]): Promise<void> {
    this.collected.push({ app, keepTags: [...keepTags()] });
  }
}

/** A pushed tree of one Dockerfile app, without a disk: what detection and the build read. */
function dockerfileWorkspaces(): Workspaces {
  const dockerfile = 'FROM pilot-local/node:20\nEXPOSE 5000\nCMD ["node", "server.js"]\n';
  return {
    unpack: async () => '/build/fake',
    facts: async () => ({ files: new Set(['Dockerfile', 'server.js']), contents: new Map([['Dockerfile', dockerfile]]) }),
    writeFile: async () => undefined,
    copyIn: async () => undefined,
    restoreBuildCache: async () => undefined,
    keepBuildCache: async () => undefined,
    removeBuildCache: async () => undefined,
    remove: async () => undefined,
  };
}

/**
 * Pilot's core as the server composes it (stores, route table, rollout, deployer, process
 * control) on SQLite ':memory:', with fakes of the runtime, Caddy and the image engine in
 * place of Docker and Caddy. Drain and stop times are 0, so retirements end at once.
 */
export function buildCore(env: Record<string, string> = {}, options: { rolling?: boolean } = {}) {
  const settings = loadConfig({ PILOT_INSTANCE: 'pt', PILOT_DOMAIN: 'pilot.test', PILOT_DRAIN_SECONDS: '0', PILOT_STOP_TIMEOUT: '0', ...env });
  const db = openDatabase(':memory:');
  const stores = {
    apps: createAppStore(db),
    releases: createReleaseStore(db),
    configVars: createConfigStore(db),
    formation: createFormationStore(db),
    volumes: createVolumeStore(db),
    domains: createDomainStore(db),
  };
  /** What AppService's list is built from, as composition counts it. */
  const listedWrites = countWrites(db, LISTED_TABLES);
  // rolling: a scheduler that replaces processes itself (swarm mode), with the route table of that mode.
  const runtime = options.rolling ? new FakeRollingRuntime() : new FakeRuntime();
  const router = new FakeRouteLoader();
  const images = new FakeImages();
  const registry = new FakeRegistry();
  const logger = pino({ level: 'silent' });
  const templates = createTemplateRenderer();
  const persisted: string[] = [];
  // Follows the fake runtime's changes from the start (its first listing comes at the next microtask).
  const live = new LiveState(runtime, logger);
  void live.start();
  const routes = new RouteTable({
    settings: { adminAddress: 'localhost:2019', domain: settings.domain, httpPort: 80, httpsPort: 443, tls: 'off', acmeEmail: undefined, streamCloseDelay: undefined },
    ...stores,
    runtime,
    router,
    renderCaddyfile: (context) => templates.renderCaddyfile(context),
    persist: (caddyfile) => persisted.push(caddyfile),
    health: { isUnhealthy: (id) => live.isUnhealthy(id) },
    rolling: options.rolling ?? false,
  });
  const events = new Events(createEventStore(db), logger);
  const rollout = new Rollout({ runtime, releases: stores.releases, routes, settings, logger });
  const wentLive: string[] = [];
  /** Each app's deploy branch as git would have it after the pushes that went live. */
  const heads = new Map<string, string>();
  const deployer = new Deployer({
    settings,
    ...stores,
    images,
    registry,
    runtime,
    rollout,
    workspaces: dockerfileWorkspaces(),
    submodules: { fetch: async () => ({ nested: [] }) },
    renderDockerfile: () => '',
    buildpackDir: () => '/nowhere',
    branchHead: async (app) => heads.get(app),
    onLive: (app) => wentLive.push(app.name),
    events,
    logger,
  });
  recordProcessEvents(live, stores.apps, events);
  const processes = new ProcessControl({ ...stores, runtime, rollout, deployer, routes, live, events, settings });

  /** Pushes a commit of the Dockerfile app; resolves with whether it went live and what the pusher read. */
  async function push(app: string, sha = 'a'.repeat(40)): Promise<{ live: boolean; output: string }> {
    const lines: string[] = [];
    const oldSha = heads.get(app) ?? '0'.repeat(40);
    const live = await deployer.deployPush({ app, branch: 'main', oldSha, newSha: sha, source: process.stdin, madeBy: SOMEONE }, (line) => lines.push(line));
    // git updates the ref once the hook accepted the push.
    if (live) heads.set(app, sha);
    await rollout.settle();
    return { live, output: lines.join('\n') };
  }

  /** A release that went live as a deploy leaves it, with its processes running in the runtime. */
  async function liveRelease(app: App, changes: Partial<Parameters<typeof stores.releases.update>[1]> = {}): Promise<Release> {
    const release = stores.releases.create({ appId: app.id, kind: 'deploy', gitSha: 'b'.repeat(40), config: stores.configVars.get(app.id) });
    stores.releases.update(release.id, { image: `pt/${app.name}:v${release.version}`, port: 5000, processes: { web: null }, slot: 'blue', ...changes });
    const row = stores.releases.get(release.id) as Release;
    const runtimeSpec = { instance: 'pt', app: app.name, version: row.version, image: row.image as string, config: {}, port: 5000, memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 512 };
    for (const type of Object.keys(row.processes)) {
      const count = row.formation[type] ?? stores.formation.get(app.id)[type] ?? (type === 'web' ? 1 : 0);
      for (let index = 1; index <= count; index += 1) runtime.leave(runtimeSpec, { app: app.name, release: row.version, slot: row.slot ?? 'blue', type, index });
    }
    goLive(stores.releases, release.id);
    await routes.reload();
    return stores.releases.get(release.id) as Release;
  }

  return { settings, db, listedWrites, ...stores, runtime, router, images, registry, routes, rollout, deployer, processes, live, events, push, liveRelease, wentLive, persisted, logger };
}

export type Core = ReturnType<typeof buildCore>;

/** The real AppService over a core: its stores, runtime, live state and deployer; repositories that always exist. */
export function appServiceOver(core: Core, overrides: Partial<AppServiceDeps> = {}): AppService {
  return new AppService({
    ...core,
    repositories: { exists: () => true, create: async () => undefined, remove: () => undefined, rename: () => undefined },
    instance: 'pt',
    maxNameLength: 30,
    appUrl: (app) => `https://${app}.pilot.test`,
    onDestroy: () => undefined,
    previews: createPreviewStore(core.db),
    ...overrides,
  });
}
