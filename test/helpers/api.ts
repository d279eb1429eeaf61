import type { CaddyOnlyConnections } from '../../src/http/caddy-only-listener.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { openDatabase } from '../../src/adapters/db/database.js';
import { createAppStore, createConfigStore, createDomainStore, createEventStore, createWebhookStore, createReleaseStore, createTokenStore } from '../../src/adapters/db/stores.js';
import { Events } from '../../src/services/events.js';
import { Notifier } from '../../src/services/notifier.js';
import { RepoSources } from '../../src/services/repo-sources.js';
import { createRepoSourceStore } from '../../src/adapters/db/repo-sources.js';
import { NotFoundError } from '../../src/domain/errors.js';
import { hashToken } from '../../src/domain/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { PROJECT_ROOT, createTemplateRenderer } from '../../src/adapters/templates.js';
import { createDashboardSessionStore } from '../../src/adapters/db/dashboard-sessions.js';
import type { ApiDeps } from '../../src/http/api/context.js';
import { AppRegistry } from '../../src/services/app-registry.js';
import { TokenService } from '../../src/services/tokens.js';
import { TokenSessions } from '../../src/http/token-sessions.js';
import { createPreviewStore } from '../../src/adapters/db/preview-store.js';
import { NodeService } from '../../src/services/nodes.js';
import { Pushers } from '../../src/http/pushers.js';
import type { LocalCaCertificate } from '../../src/http/routes/ca-cert.js';

export const TEST_ADMIN_TOKEN = 'pilot_test-admin-token';
/** What the test app takes as its Caddy's X-Pilot-Proxy-Key. */
export const TEST_PROXY_KEY = 'test-proxy-key';

/** The real stores behind the test app, for a test's own fakes to share. */
export interface TestStores {
  readonly apps: ReturnType<typeof createAppStore>;
  readonly releases: ReturnType<typeof createReleaseStore>;
  readonly configVars: ReturnType<typeof createConfigStore>;
  readonly previews: ReturnType<typeof createPreviewStore>;
  readonly repoSources: ReturnType<typeof createRepoSourceStore>;
}

/** What a request reached behind the API: a fake that records instead of doing. */
export interface Reached {
  readonly git: string[];
  readonly services: string[];
}

/**
 * The whole control plane (`buildApp`) on SQLite ':memory:', without Docker, Caddy or git:
 * the stores are real, the services and the git server are fakes that record what reached
 * them. Closed after the test.
 */
export async function buildTestApp(
  t: { after(fn: () => Promise<unknown>): void },
  options: { apps?: readonly string[]; replace?: (stores: TestStores) => Partial<ApiDeps>; cliBundle?: string; started?: () => boolean; localCaCertificate?: LocalCaCertificate; caddyOnly?: CaddyOnlyConnections } = {},
) {
  const db = openDatabase(':memory:');
  const apps = createAppStore(db);
  const stores: TestStores = { apps, releases: createReleaseStore(db), configVars: createConfigStore(db), previews: createPreviewStore(db), repoSources: createRepoSourceStore(db) };
  const tokenStore = createTokenStore(db);
  tokenStore.ensureAdminToken('admin', hashToken(TEST_ADMIN_TOKEN), TEST_ADMIN_TOKEN.slice(0, 12));
  for (const name of options.apps ?? []) apps.create(name);
  const reached: Reached = { git: [], services: [] };
  const tokens = new TokenService(tokenStore, apps);
  const sessions = new TokenSessions();
  const appService = {
    findId: (name: string) => apps.findByName(name)?.id,
    nameOf: (id: number) => apps.list().find((app) => app.id === id)?.name,
    get: (name: string) => {
      const found = apps.findByName(name);
      if (!found) throw new NotFoundError(`no app named "${name}"`);
      return found;
    },
  };
  // Every other service call is recorded and answered with nothing.
  const recording = (service: string, real: Record<string, unknown> = {}) =>
    new Proxy(real, { get: (target, method) => (method in target ? target[method as string] : async () => void reached.services.push(`${service}.${String(method)}`)) });
  const api = {
    tokenStore,
    tokens,
    sessions,
    apps: recording('apps', appService),
    releases: stores.releases,
    configVars: stores.configVars,
    domains: createDomainStore(db),
    deployer: recording('deployer'),
    routes: recording('routes'),
    processes: recording('processes'),
    logs: recording('logs'),
    storage: recording('storage'),
    limits: recording('limits'),
    links: recording('links'),
    oneOff: recording('oneOff'),
    cron: recording('cron'),
    // Recorded like the others, answered with a list as its route's schema requires.
    certificates: recording('certificates', { list: async () => (reached.services.push('certificates.list'), []) }),
    metrics: recording('metrics'),
    prometheus: recording('prometheus'),
    events: new Events(createEventStore(db), pino({ level: 'silent' })),
    webhooks: new Notifier(createWebhookStore(db), pino({ level: 'silent' })),
    // Which app a preview previews is read for access, before any route: real, from the store.
    previews: recording('previews', {
      parentId: (name: string) => {
        const found = apps.findByName(name);
        return found ? stores.previews.parentOf(found.id) : undefined;
      },
    }),
    // PILOT_SCHEDULER=docker; a test of swarm mode replaces it with a fake cluster's.
    nodes: new NodeService(undefined),
    repoSources: new RepoSources({
      apps, sources: stores.repoSources, fetcher: recording('fetcher') as never, deployer: recording('deployer') as never, maxPushBytes: 1024 * 1024, logger: pino({ level: 'silent' }),
    }),
    domain: 'pilot.test',
    ...options.replace?.(stores),
  } as unknown as ApiDeps;
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-api-test-'));
  const pushers = new Pushers();
  const app: FastifyInstance = await buildApp({
    logger: pino({ level: 'silent' }),
    checks: { database: async () => undefined, docker: async () => undefined, caddy: async () => true, started: options.started ?? (() => true) },
    tokens: tokenStore,
    registry: new AppRegistry(apps, { exists: () => true, create: async () => undefined }, 63),
    git: {
      handle(request, response) {
        reached.git.push(`${request.method} ${request.url}`);
        response.writeHead(200).end();
      },
    },
    api,
    maxPushBytes: 1024 * 1024,
    spoolDir,
    pushers,
    proxyKey: TEST_PROXY_KEY,
    connections: { requestTimeoutSeconds: 600, headersTimeoutSeconds: 20, maxConnections: 512 },
    localCaCertificate: options.localCaCertificate,
    ...(options.caddyOnly ? { caddyOnly: options.caddyOnly } : {}),
    cli: { bundleFile: options.cliBundle ?? path.join(spoolDir, 'pilot-cli.mjs'), renderInstaller: (context) => createTemplateRenderer().renderCliInstaller(context) },
    dashboard: { store: createDashboardSessionStore(db), dir: path.join(PROJECT_ROOT, 'dashboard'), versions: async () => [{ name: 'Pilot', version: 'test' }] },
  });
  t.after(async () => {
    await app.close();
    db.close();
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });
  /** A deploy token of `appName`, as `pilot tokens:create --app` makes it. */
  const deployToken = (appName: string): string => tokens.create({ name: `ci-${appName}`, app: appName }).token;
  return { app, tokens, tokenStore, sessions, deployToken, reached, spoolDir, pushers, events: api.events as Events, ...stores };
}
