/**
 * Composition: builds Pilot's parts from a Config and a logger and wires them together
 * (stores, Docker, Caddy, git, route table, rollout, deployer, services, HTTP app), without
 * starting anything. server.ts runs them (start, reconcile, listen, stop).
 */
// First: before anything loads dockerode.
import { CaddyOnlyConnections } from './http/caddy-only-listener.js';
import './adapters/docker/transports-on-first-use.js';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { Logger } from 'pino';
import { dataPaths, type Config } from './config.js';
import { openDatabase } from './adapters/db/database.js';
import { createAppStore, createConfigStore, createCronRunStore, createDomainStore, createEventStore, createWebhookStore, createFormationStore, createReleaseStore, createTokenStore, createVolumeStore } from './adapters/db/stores.js';
import { LISTED_TABLES, countWrites } from './adapters/db/write-counter.js';
import { createWorkspaces } from './adapters/workspace.js';
import { SUBMODULE_FETCH_TIMEOUT_SECONDS, createSubmoduleFetcher } from './adapters/submodules.js';
import { Deployer } from './pipeline/deploy.js';
import { Rollout } from './pipeline/rollout.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { createDockerEngine } from './adapters/docker.js';
import { dockerConnection } from './adapters/docker/connection.js';
import { CaddyAdmin, adminAddressForCaddyfile, parseAdminAddress } from './adapters/caddy/admin.js';
import { ManagedCaddy } from './adapters/caddy/managed.js';
import { caddyVersion, streamCloseDelayFor } from './adapters/caddy/version.js';
import { GitRepositories } from './adapters/git.js';
import { createTemplateRenderer, PROJECT_ROOT } from './adapters/templates.js';
import { RouteTable } from './pipeline/switch.js';
import { AppRegistry } from './services/app-registry.js';
import { ensureAdminToken } from './services/admin-token.js';
import { buildApp } from './http/app.js';
import { localCaFile, type LocalCaCertificate } from './http/routes/ca-cert.js';
import { TokenSessions } from './http/token-sessions.js';
import { AppService } from './services/apps.js';
import { ProcessControl } from './services/processes.js';
import { LiveState } from './services/live-state.js';
import { Events } from './services/events.js';
import { recordProcessEvents } from './services/process-events.js';
import { HealthMonitor } from './services/health-monitor.js';
import { Notifier } from './services/notifier.js';
import { AutoRollback } from './services/auto-rollback.js';
import { LogService } from './services/logs.js';
import { TokenService } from './services/tokens.js';
import { StorageService } from './services/storage.js';
import { LimitsService } from './services/limits.js';
import { CertificateService } from './services/certificates.js';
import { CertificateEvents } from './services/certificate-events.js';
import { probeServedCertificate } from './adapters/caddy/certificates.js';
import { OneOffCommands } from './services/one-off.js';
import { CronScheduler, systemClock } from './services/cron.js';
import { appHost, appUrl, controlPlaneHost } from './pipeline/routes.js';
import { LinkService } from './services/links.js';
import { AccessLogFiles } from './adapters/caddy/access-log.js';
import { appNameMaxLength } from './domain/app-name.js';
import { MetricsSampler } from './services/metrics.js';
import { createHostReader } from './adapters/host.js';
import { PrometheusExporter } from './adapters/prometheus.js';
import { createPreviewStore } from './adapters/db/preview-store.js';
import { PreviewService } from './services/previews.js';
import { previewPushes } from './services/preview-pushes.js';
import { SwarmNodes } from './adapters/docker/swarm-nodes.js';
import { NodeService } from './services/nodes.js';
import { NodeEvents } from './services/node-events.js';
import { SwarmRegistry } from './adapters/registry/registry.js';
import { createRepoSourceStore } from './adapters/db/repo-sources.js';
import { REPO_FETCH_TIMEOUT_SECONDS, createRepositoryFetcher } from './adapters/repo-fetch.js';
import { RepoSources } from './services/repo-sources.js';
import { createDashboardSessionStore } from './adapters/db/dashboard-sessions.js';
import { SwarmRuntime } from './runtime/swarm-runtime.js';
import { SwarmAgent, ensureAgentSecret } from './runtime/swarm-agent.js';
import { CONTAINER_ADMIN_ADDRESS, CONTAINER_LOCAL_CA, SwarmCaddy } from './adapters/caddy/swarm-caddy.js';
import { Pushers } from './http/pushers.js';

/** How long `pilot certs` waits for a host's handshake (an ACME order in progress takes longer). */
const CERTIFICATE_PROBE_TIMEOUT_MS = 5000;

/** Everything a running Pilot is made of, wired, not started. */
export async function composePilot(config: Config, logger: Logger) {
  const docker = new Docker(dockerConnection(config, (file) => fs.readFileSync(file)));
  // Swarm mode on an engine that is no manager is refused before anything is touched.
  const cluster = config.scheduler === 'swarm' ? new SwarmNodes(docker, config.dockerHost ? `the Docker engine at ${config.dockerHost}` : 'the local Docker engine') : undefined;
  await cluster?.ensureManager();
  const paths = dataPaths(config.dataDir);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Only Pilot reads its database, repositories, tokens and keys (a restore or an old install may have left 0755).
  fs.chmodSync(config.dataDir, 0o700);
  fs.mkdirSync(paths.caddyDir, { recursive: true, mode: 0o700 });

  const db = openDatabase(paths.database);
  const apps = createAppStore(db);
  const releases = createReleaseStore(db);
  const domains = createDomainStore(db);
  const configVars = createConfigStore(db);
  const tokens = createTokenStore(db);
  const formation = createFormationStore(db);
  const volumes = createVolumeStore(db);
  const previewStore = createPreviewStore(db);
  const { generated } = ensureAdminToken(tokens, config.adminToken, paths.adminTokenFile);

  const engine = createDockerEngine(docker);
  // Swarm mode: the nodes pull release images from a registry on the manager (started by server.ts).
  const swarmRegistry = cluster
    ? new SwarmRegistry(docker, { instance: config.instance, ...config.registry, dir: paths.registryDir }, logger)
    : undefined;
  const localRuntime = new DockerRuntime(engine, config.instance);
  // Swarm mode: Caddy is a container on the manager, on every app's overlay (docs/swarm.md).
  const swarmCaddy = cluster
    ? new SwarmCaddy(docker, { instance: config.instance, image: config.caddyImage, httpPort: config.httpPort, httpsPort: config.httpsPort, adminAddress: config.swarmCaddyAdmin, logger })
    : undefined;
  // Swarm mode: a global service reads the stats of tasks on every node (started by server.ts).
  const swarmAgent = swarmRegistry
    ? new SwarmAgent(docker, swarmRegistry, { instance: config.instance, nodeImage: config.nodeImage, port: config.swarmAgentPort, secret: ensureAgentSecret(paths.swarmAgentSecret), logger })
    : undefined;
  const runtime = swarmCaddy
    ? new SwarmRuntime(docker, localRuntime, swarmRegistry, { instance: config.instance, proxyContainer: swarmCaddy.containerName, ...(swarmAgent ? { agent: swarmAgent } : {}) })
    : localRuntime;
  const managedCaddy = config.caddyAdmin || swarmCaddy
    ? undefined
    : new ManagedCaddy({ caddyDir: paths.caddyDir, adminSocket: paths.caddyAdminSocket, caddyfile: paths.caddyfile, logger });
  const caddyAdmin = swarmCaddy?.admin ?? managedCaddy?.admin ?? new CaddyAdmin(parseAdminAddress(config.caddyAdmin ?? ''));

  const git = new GitRepositories({
    root: paths.repositories,
    hookScript: `${PROJECT_ROOT}/hooks/pre-receive.mjs`,
    nodeBinary: process.execPath,
    deploySocket: paths.deploySocket,
  });
  const upgraded = git.installAllHooks();
  logger.debug({ apps: upgraded }, 'installed the git hook in every repository');
  const registry = new AppRegistry(apps, git, appNameMaxLength(config.domain));

  const live = new LiveState(runtime, logger);
  const events = new Events(createEventStore(db), logger);
  recordProcessEvents(live, apps, events);
  const notifier = new Notifier(createWebhookStore(db), logger);
  const nodeEvents = cluster ? new NodeEvents({ cluster, events, logger }) : undefined;
  const certificateEvents = new CertificateEvents({
    events,
    ownerOf: (host) => {
      if (host === controlPlaneHost(config.domain)) return 'server';
      const domainOf = domains.owner(host);
      const app = apps.list().find((candidate) => candidate.id === domainOf || appHost(candidate.name, config.domain) === host);
      return app && { appId: app.id, app: app.name };
    },
  });

  const templates = createTemplateRenderer();
  // New at every start; Caddy gets it with the routes Pilot loads at start.
  const proxyKey = randomBytes(32).toString('hex');
  const accessLogs = new AccessLogFiles(paths.accessLogs);
  const routes = new RouteTable({
    settings: {
      adminAddress: swarmCaddy ? CONTAINER_ADMIN_ADDRESS : adminAddressForCaddyfile(caddyAdmin.endpoint),
      adminOrigins: swarmCaddy ? config.swarmCaddyAdmin : undefined,
      domain: config.domain,
      httpPort: config.httpPort,
      httpsPort: config.httpsPort,
      tls: config.tls,
      acmeEmail: config.acmeEmail,
      controlPlaneProxyKey: proxyKey,
      streamCloseDelay: streamCloseDelayFor(await caddyVersion()),
      accessLogDir: paths.accessLogs,
      accessLogToOutput: swarmCaddy !== undefined,
      retryUpstreams: swarmCaddy !== undefined,
    },
    apps,
    releases,
    domains,
    formation,
    runtime,
    router: caddyAdmin,
    renderCaddyfile: (context) => templates.renderCaddyfile(context),
    persist: (caddyfile) => fs.writeFileSync(paths.caddyfile, caddyfile, { mode: 0o600 }),
    health: { isUnhealthy: (id) => live.isUnhealthy(id) },
    rolling: swarmCaddy !== undefined,
  });

  const oneOff = new OneOffCommands({ releases, volumes, runtime, settings: config });
  const rollout = new Rollout({ runtime, releases, routes, settings: config, logger });
  const cron = new CronScheduler({
    apps,
    releases,
    runs: createCronRunStore(db),
    runner: { start: (app, release, command, onOutput) => oneOff.startScheduled(app, release, command, onOutput) },
    clock: systemClock,
    logger,
  });

  const metrics = new MetricsSampler({ runtime, host: createHostReader(), settings: { dataDir: config.dataDir, intervalSeconds: config.metricsIntervalSeconds }, logger });
  const prometheus = new PrometheusExporter(metrics);

  const deployer = new Deployer({
    settings: config,
    apps,
    releases,
    configVars,
    formation,
    volumes,
    images: engine,
    registry: swarmRegistry,
    runtime,
    rollout,
    workspaces: createWorkspaces(paths.builds, paths.buildCaches),
    submodules: createSubmoduleFetcher({ timeoutSeconds: SUBMODULE_FETCH_TIMEOUT_SECONDS, caFile: config.submoduleCaFile }),
    renderDockerfile: (buildpack, context) => templates.renderDockerfile(buildpack, context),
    buildpackDir: (buildpack) => templates.buildpackDir(buildpack),
    branchHead: (appName, branch) => git.branchHead(appName, branch),
    onLive: (liveApp) => cron.refresh(liveApp),
    onPushFinished: (result, seconds) => prometheus.recordDeploy(result, seconds),
    events,
    logger,
  });

  const monitor = new HealthMonitor({
    apps, releases, formation, live, runtime, routes, events, settings: config, logger,
    isDeploying: (name) => deployer.isDeploying(name),
  });

  const autoRollback = new AutoRollback({ apps, releases, deployer, events, watchSeconds: (watched) => watched.watchSeconds ?? config.watchSeconds, logger });

  const appService = new AppService({
    apps, releases, domains, formation, runtime, live, images: engine, deployer, routes, volumes,
    listedWrites: countWrites(db, LISTED_TABLES),
    repositories: git,
    instance: config.instance,
    maxNameLength: appNameMaxLength(config.domain),
    appUrl: (name) => appUrl(name, config),
    onDestroy: (destroyed) => {
      cron.forget(destroyed.id);
      accessLogs.remove(destroyed.id);
      swarmRegistry?.collect(destroyed.name, () => []).catch((error: unknown) => logger.warn({ err: error, app: destroyed.name }, 'registry not collected'));
    },
    previews: previewStore,
  });
  const previews = new PreviewService({
    apps, previews: previewStore, configVars, releases,
    destroyApp: (preview) => appService.destroy(preview, { volumes: true }),
    maxNameLength: appNameMaxLength(config.domain),
    appUrl: (name) => appUrl(name, config),
  });
  const repoSources = new RepoSources({
    apps,
    sources: createRepoSourceStore(db),
    fetcher: createRepositoryFetcher({ workDir: paths.builds, timeoutSeconds: REPO_FETCH_TIMEOUT_SECONDS, caFile: config.repoCaFile }),
    deployer,
    maxPushBytes: config.maxPushBytes,
    logger,
    previews,
  });

  const pushers = new Pushers();
  const branchPushes = previewPushes({ apps, previews, deployPush: (push, write) => deployer.deployPush(push, write) });

  /** Whether the server finished starting: /health says so. */
  const readiness = { started: false };
  // Swarm mode: Caddy is a container, which reaches the control plane on an address of its own.
  const caddyOnly = swarmCaddy ? new CaddyOnlyConnections() : undefined;
  const app = await buildApp({
    logger,
    maxPushBytes: config.maxPushBytes,
    spoolDir: paths.builds,
    pushers,
    cli: { bundleFile: `${PROJECT_ROOT}/dist/pilot-cli.mjs`, renderInstaller: (context) => templates.renderCliInstaller(context) },
    localCaCertificate: config.tls !== 'internal' ? undefined : swarmCaddy ? swarmLocalCa(swarmCaddy) : localCaFile(paths.caddyLocalRootCertificate),
    dashboard: {
      store: createDashboardSessionStore(db),
      dir: `${PROJECT_ROOT}/dashboard`,
      versions: async () => [
        { name: 'Pilot', version: (JSON.parse(fs.readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')) as { version: string }).version },
        { name: 'Node.js', version: process.version },
        { name: 'Docker engine', version: (await engine.docker.version().catch(() => undefined))?.Version ?? 'not reachable' },
        { name: 'Caddy', version: (await caddyVersion()) ?? 'unknown' },
      ],
    },
    proxyKey,
    connections: config,
    ...(caddyOnly ? { caddyOnly } : {}),
    tokens,
    registry,
    git,
    checks: {
      database: async () => void db.prepare('SELECT 1').get(),
      docker: () => runtime.ping(),
      caddy: () => caddyAdmin.reachable(),
      started: () => readiness.started,
    },
    api: {
      tokenStore: tokens,
      tokens: new TokenService(tokens, apps),
      sessions: new TokenSessions(),
      apps: appService,
      previews,
      releases,
      configVars,
      domains,
      deployer,
      routes,
      processes: new ProcessControl({ apps, releases, formation, volumes, runtime, rollout, deployer, routes, live, events, settings: config, usage: (id) => metrics.ofProcess(id) }),
      logs: new LogService({ releases, runtime, router: accessLogs }),
      storage: new StorageService({ volumes, configVars, runtime, deployer, instance: config.instance }),
      limits: new LimitsService({ apps, configVars, deployer, defaults: config }),
      links: new LinkService({ apps, runtime, deployer }),
      oneOff,
      cron,
      certificates: new CertificateService({
        domains,
        settings: config,
        // Caddy listens on every address: loopback reaches it from here.
        probe: (host) => probeServedCertificate('127.0.0.1', config.httpsPort, host, CERTIFICATE_PROBE_TIMEOUT_MS),
      }),
      metrics,
      prometheus,
      events,
      webhooks: notifier,
      nodes: new NodeService(cluster, swarmRegistry),
      repoSources,
      domain: config.domain,
    },
  });
  return {
    config, logger, paths, db, apps, releases, formation, generatedAdminToken: generated,
    caddyOnly, engine, swarmRegistry, swarmAgent, runtime, live, events, certificateEvents, accessLogs, notifier, nodeEvents, monitor, autoRollback, managedCaddy, swarmCaddy, caddyAdmin, routes, rollout, deployer, repoSources, cron, metrics, app, readiness,
    previews, branchPushes, pushers,
  };
}

/** Swarm mode: the CA is in Caddy's container, on the manager, which Pilot reaches through its engine. */
function swarmLocalCa(caddy: SwarmCaddy): LocalCaCertificate {
  return { location: `${caddy.containerName}:${CONTAINER_LOCAL_CA}`, read: () => caddy.readFile(CONTAINER_LOCAL_CA) };
}
