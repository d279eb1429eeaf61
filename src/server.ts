/**
 * Wires adapters, pipeline and HTTP into a running Pilot, from a Config and a logger.
 * main.ts calls it after reading the environment; tests call it with their own Config,
 * so they run exactly the wiring users run.
 */
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { dataPaths, type Config, type DataPaths } from './config.js';
import { openDatabase, type SqliteDatabase } from './adapters/db/database.js';
import {
  createAppStore, createConfigStore, createCronRunStore, createDomainStore, createFormationStore, createReleaseStore, createTokenStore, createVolumeStore,
} from './adapters/db/stores.js';
import { createWorkspaces } from './adapters/workspace.js';
import { SUBMODULE_FETCH_TIMEOUT_SECONDS, createSubmoduleFetcher } from './adapters/submodules.js';
import { Deployer } from './pipeline/deploy.js';
import { instanceLabels, networkName } from './pipeline/start.js';
import { listenForDeploys } from './http/deploy-socket.js';
import { createDockerEngine } from './adapters/docker.js';
import { CaddyAdmin, adminAddressForCaddyfile, parseAdminAddress } from './adapters/caddy/admin.js';
import { ManagedCaddy } from './adapters/caddy/managed.js';
import { caddyVersion, streamCloseDelayFor } from './adapters/caddy/version.js';
import { GitRepositories } from './adapters/git.js';
import { createTemplateRenderer, PROJECT_ROOT } from './adapters/templates.js';
import { RouteTable } from './pipeline/switch.js';
import { failInterruptedReleases, removeOrphanContainers } from './pipeline/reconcile.js';
import { AppRegistry } from './services/app-registry.js';
import { ensureAdminToken } from './services/admin-token.js';
import { buildApp } from './http/app.js';
import { AppService } from './services/apps.js';
import { ProcessControl } from './services/processes.js';
import { LogService } from './services/logs.js';
import { TokenService } from './services/tokens.js';
import { StorageService } from './services/storage.js';
import { LimitsService } from './services/limits.js';
import { OneOffCommands } from './services/one-off.js';
import { CronScheduler, systemClock } from './services/cron.js';
import { appUrl, isPilotHost } from './pipeline/routes.js';
import { ensureReloadsKeepConnections } from './adapters/caddy/reuseport.js';
import { watchRoutes } from './pipeline/route-watch.js';
import { appNameMaxLength } from './domain/app-name.js';
import type { ContainerEngine } from './domain/ports.js';

/** How often Pilot checks that Caddy still routes what it loaded (external restarts, new container addresses). */
const ROUTE_CHECK_INTERVAL_MS = 2000;

export interface PilotServer {
  readonly config: Config;
  readonly paths: DataPaths;
  readonly app: FastifyInstance;
  readonly db: SqliteDatabase;
  readonly engine: ContainerEngine;
  readonly routes: RouteTable;
  readonly deployer: Deployer;
  readonly caddyAdmin: CaddyAdmin;
  /** Pilot's own Caddy, when PILOT_CADDY_ADMIN is unset. */
  readonly managedCaddy: ManagedCaddy | undefined;
  readonly generatedAdminToken: string | undefined;
  /** `http://host:port` of the API and git. */
  readonly address: string;
  /**
   * Stops Pilot; apps and Caddy keep serving. `retirements: 'leave'` does not wait for old
   * releases still draining or stopping (up to PILOT_DRAIN_SECONDS + PILOT_STOP_TIMEOUT): the
   * next start retires them (removeOrphanContainers), so a restart or upgrade takes seconds.
   */
  close(options?: { retirements: 'wait' | 'leave' }): Promise<void>;
}

export async function createServer(config: Config, logger: Logger): Promise<PilotServer> {
  const paths = dataPaths(config.dataDir);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(paths.caddyDir, { recursive: true, mode: 0o700 });

  const db = openDatabase(paths.database);
  const apps = createAppStore(db);
  const releases = createReleaseStore(db);
  const domains = createDomainStore(db);
  const configVars = createConfigStore(db);
  const tokens = createTokenStore(db);
  const formation = createFormationStore(db);
  const volumes = createVolumeStore(db);
  const { generated } = ensureAdminToken(tokens, config.adminToken, paths.adminTokenFile);

  const engine = createDockerEngine(new Docker(dockerOptions(config.dockerHost)));
  const managedCaddy = config.caddyAdmin
    ? undefined
    : new ManagedCaddy({ caddyDir: paths.caddyDir, adminSocket: paths.caddyAdminSocket, caddyfile: paths.caddyfile, logger });
  const caddyAdmin = managedCaddy?.admin ?? new CaddyAdmin(parseAdminAddress(config.caddyAdmin ?? ''));

  const git = new GitRepositories({
    root: paths.repositories,
    hookScript: `${PROJECT_ROOT}/hooks/pre-receive.mjs`,
    nodeBinary: process.execPath,
    deploySocket: paths.deploySocket,
  });
  const upgraded = git.installAllHooks();
  logger.debug({ apps: upgraded }, 'installed the git hook in every repository');
  const registry = new AppRegistry(apps, git, appNameMaxLength(config.domain));

  const templates = createTemplateRenderer();
  const routes = new RouteTable({
    settings: {
      adminAddress: adminAddressForCaddyfile(caddyAdmin.endpoint),
      domain: config.domain,
      httpPort: config.httpPort,
      httpsPort: config.httpsPort,
      tls: config.tls,
      acmeEmail: config.acmeEmail,
      streamCloseDelay: streamCloseDelayFor(await caddyVersion()),
    },
    apps,
    releases,
    domains,
    formation,
    engine,
    instance: config.instance,
    router: caddyAdmin,
    renderCaddyfile: (context) => templates.renderCaddyfile(context),
    persist: (caddyfile) => fs.writeFileSync(paths.caddyfile, caddyfile, { mode: 0o600 }),
  });

  const oneOff = new OneOffCommands({ releases, volumes, engine, settings: config });
  const cron = new CronScheduler({
    apps,
    releases,
    runs: createCronRunStore(db),
    runner: { start: (app, release, command, onOutput) => oneOff.startScheduled(app, release, command, onOutput) },
    clock: systemClock,
    logger,
  });

  const deployer = new Deployer({
    settings: config,
    apps,
    releases,
    configVars,
    formation,
    volumes,
    engine,
    workspaces: createWorkspaces(paths.builds, paths.buildCaches),
    submodules: createSubmoduleFetcher({ timeoutSeconds: SUBMODULE_FETCH_TIMEOUT_SECONDS, caFile: config.submoduleCaFile }),
    routes,
    renderDockerfile: (buildpack, context) => templates.renderDockerfile(buildpack, context),
    buildpackDir: (buildpack) => templates.buildpackDir(buildpack),
    branchHead: (appName, branch) => git.branchHead(appName, branch),
    onLive: (liveApp) => cron.refresh(liveApp),
    logger,
  });

  let started = false;
  const app = await buildApp({
    logger,
    maxPushBytes: config.maxPushBytes,
    spoolDir: paths.builds,
    servesHost: (host) => isPilotHost(host, config.domain, {
      appExists: (name) => apps.findByName(name) !== undefined,
      domainHasOwner: (hostname) => domains.owner(hostname) !== undefined,
    }),
    localCaCertificate: config.tls === 'internal' ? paths.caddyLocalRootCertificate : undefined,
    tokens,
    registry,
    git,
    checks: {
      database: async () => void db.prepare('SELECT 1').get(),
      docker: () => engine.ping(),
      caddy: () => caddyAdmin.reachable(),
      started: () => started,
    },
    api: {
      tokenStore: tokens,
      tokens: new TokenService(tokens, apps),
      apps: new AppService({
        apps, releases, domains, engine, deployer, routes,
        repositories: git,
        instance: config.instance,
        maxNameLength: appNameMaxLength(config.domain),
        appUrl: (name) => appUrl(name, config),
        onDestroy: (destroyed) => cron.forget(destroyed.id),
      }),
      releases,
      configVars,
      domains,
      deployer,
      routes,
      processes: new ProcessControl({ releases, formation, volumes, engine, deployer, routes, settings: config }),
      logs: new LogService({ releases, engine }),
      storage: new StorageService({ volumes, releases, configVars, engine, deployer, instance: config.instance }),
      limits: new LimitsService({ apps, releases, configVars, deployer, defaults: config }),
      oneOff,
      cron,
      domain: config.domain,
    },
  });
  // After a crash the database must say which release serves before routes are rendered.
  const reconciling = { apps, releases, engine, instance: config.instance, logger };
  failInterruptedReleases(reconciling);
  // Build directories and spooled pushes of deploys a crash cut short.
  for (const leftover of fs.readdirSync(paths.builds)) fs.rmSync(path.join(paths.builds, leftover), { recursive: true, force: true });
  await app.listen({ port: config.port, host: config.bind });
  const port = (app.server.address() as { port: number }).port;
  const loopback = config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind;
  const controlPlane = `${loopback.includes(':') ? `[${loopback}]` : loopback}:${port}`;
  routes.setControlPlaneUpstream(controlPlane);

  let deploySocket: Awaited<ReturnType<typeof listenForDeploys>> | undefined;
  let routeWatch: { stop(): void } | undefined;
  try {
    await engine.ensureNetwork(networkName(config.instance), instanceLabels(config.instance));
    ensureReloadsKeepConnections(logger);
    // A Caddy (re)started from this file comes back with every route.
    fs.writeFileSync(paths.caddyfile, await routes.render(), { mode: 0o600 });
    if (managedCaddy) {
      await managedCaddy.start();
      managedCaddy.watch(2000, () => routes.reload());
    }
    await routes.reload();
    routeWatch = watchRoutes(routes, logger, ROUTE_CHECK_INTERVAL_MS, (wake) => engine.watchContainerStarts(instanceLabels(config.instance), wake));
    // Only once Caddy points at the live releases: what serves nothing can go.
    await removeOrphanContainers(reconciling, (orphanApp, release) => deployer.retire(orphanApp, release));
    // Once the cron containers a stop left behind are gone: the live releases' schedules run again.
    cron.start();
    // Pushes last: a deploy never races the clean-up.
    deploySocket = await listenForDeploys(paths.deploySocket, deployer, logger);
  } catch (error) {
    await cron.stop();
    routeWatch?.stop();
    deploySocket?.close();
    await app.close();
    db.close();
    throw error;
  }
  const deploys = deploySocket;
  started = true;

  return {
    config,
    paths,
    app,
    db,
    engine,
    routes,
    deployer,
    caddyAdmin,
    managedCaddy,
    generatedAdminToken: generated,
    address: `http://${controlPlane}`,
    async close({ retirements } = { retirements: 'wait' }) {
      managedCaddy?.stopWatching();
      routeWatch?.stop();
      await cron.stop();
      // No new push; running deploys get PILOT_SHUTDOWN_SECONDS to finish.
      const socketClosed = new Promise<void>((resolve) => deploys.close(() => resolve()));
      const finished = await Promise.race([
        deployer.idle().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), config.shutdownSeconds * 1000).unref()),
      ]);
      if (!finished) {
        // Failed cleanly now rather than at the next start: their pushes are rejected, the live releases serve on.
        const failed = failInterruptedReleases(reconciling);
        logger.warn({ failed }, 'deploys still running at shutdown were stopped');
        deploys.closeAllConnections();
        await removeOrphanContainers(reconciling, () => undefined).catch((error: unknown) => logger.error({ err: error }, 'clean-up at shutdown failed'));
      }
      await socketClosed;
      // Requests git holds open (a long clone) must not keep Pilot from exiting.
      setTimeout(() => app.server.closeAllConnections(), 5000).unref();
      await app.close();
      if (retirements === 'wait') await deployer.settle();
      db.close();
    },
  };
}

/** DOCKER_HOST as Docker reads it: unix:///path or tcp://host:port; unset means the local socket. */
function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}
