/**
 * Runs a composed Pilot (composition.ts): reconciles after a crash, listens, starts or adopts
 * Caddy, loads the routes, follows them, accepts pushes; and stops in the reverse order.
 * main.ts calls it after reading the environment; tests call it with their own Config,
 * so they run exactly the wiring users run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config, DataPaths } from './config.js';
import type { SqliteDatabase } from './adapters/db/database.js';
import type { Deployer } from './pipeline/deploy.js';
import { listenForDeploys } from './http/deploy-socket.js';
import { listenForCaddy, type CaddyOnlyConnections, type CaddyOnlyListener } from './http/caddy-only-listener.js';
import type { CaddyAdmin } from './adapters/caddy/admin.js';
import type { ManagedCaddy } from './adapters/caddy/managed.js';
import type { RouteTable } from './pipeline/switch.js';
import { failInterruptedReleases, removeOrphanContainers } from './pipeline/reconcile.js';
import { ensureReloadsKeepConnections } from './adapters/caddy/reuseport.js';
import { watchRoutes } from './pipeline/route-watch.js';
import type { ContainerEngine } from './domain/ports.js';
import { composePilot } from './composition.js';
import type { SwarmCaddy } from './adapters/caddy/swarm-caddy.js';
import { certificateOutcome, followLog } from './adapters/caddy/certificate-log.js';
import { followContainerLog } from './adapters/caddy/container-log.js';
import { containerOutputLine } from './adapters/caddy/container-output.js';

/** How often Pilot checks that Caddy still routes what it loaded (external restarts, new container addresses). */
const ROUTE_CHECK_INTERVAL_MS = 2000;
/** How often Caddy's log is read for certificates issued or failed (swarm: how soon its container's output is followed again). */
const CERTIFICATE_LOG_INTERVAL_MS = 2000;

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
  /** Swarm mode: Pilot's Caddy container on the manager. */
  readonly swarmCaddy: SwarmCaddy | undefined;
  readonly generatedAdminToken: string | undefined;
  /** `http://host:port` of the API and git. */
  readonly address: string;
  /** Swarm mode: `host:port` where the Caddy container reaches the control plane (its requests only); none: not served through Caddy. */
  readonly caddyUpstream: string | undefined;
  /**
   * Stops Pilot; apps and Caddy keep serving. `retirements: 'leave'` does not wait for old
   * releases still draining or stopping (up to PILOT_DRAIN_SECONDS + PILOT_STOP_TIMEOUT): the
   * next start retires them (removeOrphanContainers), so a restart or upgrade takes seconds.
   */
  close(options?: { retirements: 'wait' | 'leave' }): Promise<void>;
}

export async function createServer(config: Config, logger: Logger): Promise<PilotServer> {
  const { caddyOnly, paths, db, apps, releases, formation, generatedAdminToken, engine, swarmRegistry, swarmAgent, runtime, live, events, certificateEvents, accessLogs, notifier, nodeEvents, monitor, autoRollback, managedCaddy, swarmCaddy, caddyAdmin, routes, deployer, repoSources, cron, metrics, app, readiness, branchPushes, pushers } =
    await composePilot(config, logger);
  // After a crash the database must say which release serves before routes are rendered.
  const reconciling = { apps, releases, formation, runtime, logger };
  failInterruptedReleases(reconciling);
  // Build directories and spooled pushes of deploys a crash cut short.
  for (const leftover of fs.readdirSync(paths.builds)) fs.rmSync(path.join(paths.builds, leftover), { recursive: true, force: true });
  await app.listen({ port: config.port, host: config.bind });
  const port = (app.server.address() as { port: number }).port;
  const loopback = config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind;
  const controlPlane = `${loopback.includes(':') ? `[${loopback}]` : loopback}:${port}`;
  routes.setControlPlaneUpstream(controlPlane);
  // Swarm mode: Caddy is a container on the manager, for which Pilot's loopback is its own.
  const caddyListener = swarmCaddy && caddyOnly ? await listenForSwarmCaddy(config, swarmCaddy, app, caddyOnly, logger) : undefined;
  if (swarmCaddy) routes.setControlPlaneUpstream(caddyListener?.upstream);

  let deploySocket: Awaited<ReturnType<typeof listenForDeploys>> | undefined;
  let routeWatch: { stop(): void } | undefined;
  let stopCaddyLog: (() => void) | undefined;
  try {
    // Before the API answers anything about processes, and before the routes ask which are unhealthy.
    await live.start();
    notifier.start(events);
    autoRollback.start(events);
    nodeEvents?.start();
    // In the background: a registry image being pulled delays no start; a push waits for it.
    void swarmRegistry?.start().catch(() => undefined);
    // In the background too: it publishes its image through the registry (start() logs its own failure).
    void swarmAgent?.start();
    ensureReloadsKeepConnections(logger);
    // A Caddy (re)started from this file comes back with every route.
    fs.writeFileSync(paths.caddyfile, await routes.render(), { mode: 0o600 });
    if (managedCaddy) {
      await managedCaddy.start();
      managedCaddy.watch(2000, () => routes.reload());
      // Certificates issued or failed, as Caddy tells them (on-demand TLS: at the first visit of a host).
      stopCaddyLog = followLog(managedCaddy.logFile, (line) => {
        const outcome = certificateOutcome(line);
        if (outcome) certificateEvents.observe(outcome);
      }, CERTIFICATE_LOG_INTERVAL_MS);
    }
    if (swarmCaddy) {
      await swarmCaddy.start();
      // Caddy's log is its container's output: its own lines (certificates) and, tagged, each app's access log entries.
      stopCaddyLog = followContainerLog(engine, swarmCaddy.containerName, containerOutputLine({ apps, accessLogs, certificateEvents, logger }), CERTIFICATE_LOG_INTERVAL_MS);
    }
    await routes.reload();
    routeWatch = watchRoutes(routes, logger, ROUTE_CHECK_INTERVAL_MS, (wake) => runtime.watchStarts(wake));
    // Only once Caddy points at the live releases: what serves nothing can go.
    await removeOrphanContainers(
      reconciling,
      (batch) => deployer.retire(batch.app, batch.version, batch.slot, batch.processes),
      (app, reason, replacing) => void deployer.restoreLive(app, reason, replacing),
    );
    // Once the cron containers a stop left behind are gone: the live releases' schedules run again.
    cron.start();
    metrics.start();
    monitor.start();
    // Pushes last: a deploy never races the clean-up.
    deploySocket = await listenForDeploys(paths.deploySocket, deployer, logger, branchPushes, pushers);
  } catch (error) {
    await swarmAgent?.stop();
    await cron.stop();
    await metrics.stop();
    await monitor.stop();
    await autoRollback.stop();
    await nodeEvents?.stop();
    notifier.stop();
    routeWatch?.stop();
    stopCaddyLog?.();
    live.stop();
    deploySocket?.close();
    await caddyListener?.close();
    await app.close();
    db.close();
    throw error;
  }
  const deploys = deploySocket;
  readiness.started = true;

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
    swarmCaddy,
    generatedAdminToken,
    address: `http://${controlPlane}`,
    caddyUpstream: caddyListener?.upstream,
    async close({ retirements } = { retirements: 'wait' }) {
      managedCaddy?.stopWatching();
      routeWatch?.stop();
      stopCaddyLog?.();
      await monitor.stop();
      await autoRollback.stop();
      await nodeEvents?.stop();
      notifier.stop();
      live.stop();
      await cron.stop();
      await metrics.stop();
      // No new push or webhook deploy; running deploys get PILOT_SHUTDOWN_SECONDS to finish.
      repoSources.stop();
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
      await caddyListener?.close();
      await app.close();
      await swarmAgent?.stop();
      if (retirements === 'wait') await deployer.settle();
      db.close();
    },
  };
}

/**
 * Listens where the swarm's Caddy container reaches this machine (PILOT_SWARM_CONTROL_PLANE_BIND,
 * else the manager's bridge gateway). When that is not an address of this machine (Pilot runs
 * elsewhere than the manager and the setting is unset), pilot.<domain> is not routed, and the
 * log says what to set.
 */
async function listenForSwarmCaddy(config: Config, swarmCaddy: SwarmCaddy, app: FastifyInstance, caddyOnly: CaddyOnlyConnections, logger: Logger): Promise<CaddyOnlyListener | undefined> {
  const host = config.swarmControlPlaneBind ?? (await swarmCaddy.bridgeGateway().catch(() => undefined));
  if (!host) {
    logger.warn("the manager's bridge network has no gateway: set PILOT_SWARM_CONTROL_PLANE_BIND for pilot.<domain> to be served through Caddy");
    return undefined;
  }
  try {
    const listener = await listenForCaddy(app.server, caddyOnly, host, config.maxConnections);
    logger.info({ upstream: listener.upstream }, "the swarm's Caddy reaches the control plane here (its requests only)");
    return listener;
  } catch (error) {
    logger.warn(
      { err: error, host },
      `the control plane cannot listen on ${host} for the swarm's Caddy (${(error as NodeJS.ErrnoException).code ?? 'error'}): pilot.<domain> is not served through Caddy; set PILOT_SWARM_CONTROL_PLANE_BIND to an address of this machine that the manager's containers reach`,
    );
    return undefined;
  }
}
