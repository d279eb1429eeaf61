/** Starts a real Pilot (the same wiring as main.ts) with its own ports, data dir, Caddy and instance. */
import fs from 'node:fs';
import { loadConfig } from '../../src/config.js';
import { createServer, type PilotServer } from '../../src/server.js';
import {
  freePort, httpsGet, localImages, remoteUrl, removeInstanceObjects, tempDir, testInstanceName, testLogger,
  type GitClient, type GitResult, type HttpsAnswer,
} from './integration.js';

export interface TestPilot {
  readonly server: PilotServer;
  readonly token: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly domain: string;
  /** Root certificate of the test Caddy's local CA. */
  readonly caFile: string;
  /** `git push` of the client's HEAD to the app's main, straight to Pilot's HTTP port, with the admin token. */
  push(client: GitClient, app: string): Promise<GitResult>;
  /** A GET of the app through Caddy over HTTPS, trusting the test CA. */
  get(app: string, urlPath?: string): Promise<HttpsAnswer>;
  /** Stops the Pilot process alone (as a crash or an upgrade would): Caddy and the apps run on. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestPilot(env: Record<string, string> = {}): Promise<TestPilot> {
  const dataDir = tempDir('data');
  const instance = testInstanceName();
  const token = `test-admin-${instance}-${Date.now()}`;
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const { nodeImage, staticImage } = localImages();
  const config = loadConfig({
    PILOT_DATA_DIR: dataDir,
    PILOT_PORT: '0',
    PILOT_BIND: '127.0.0.1',
    PILOT_DOMAIN: 'localhost',
    PILOT_HTTP_PORT: String(httpPort),
    PILOT_HTTPS_PORT: String(httpsPort),
    PILOT_INSTANCE: instance,
    PILOT_ADMIN_TOKEN: token,
    PILOT_NODE_IMAGE: nodeImage,
    PILOT_STATIC_IMAGE: staticImage,
    PILOT_HEALTH_TIMEOUT: '20',
    // Shorter drains than ~2 s showed rare resets on a loaded machine: Caddy 2.6 may still route to
    // the old upstream for a moment after a reload. Users get 10 s.
    PILOT_DRAIN_SECONDS: '3',
    PILOT_STOP_TIMEOUT: '5',
    PILOT_BUILD_TIMEOUT: '300',
    PILOT_APP_MEMORY: '256m',
    DOCKER_HOST: process.env.DOCKER_HOST ?? '',
    ...env,
  });
  let server: PilotServer;
  try {
    server = await createServer(config, testLogger());
  } catch (error) {
    await removeInstanceObjects(instance);
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= server.close());
  return {
    server,
    token,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    domain: config.domain,
    caFile: server.managedCaddy?.localRootCertificate ?? '',
    push: (client, app) => client.run(['push', remoteUrl(server.address, app, token), 'HEAD:refs/heads/main']),
    get: (app, urlPath = '/') =>
      httpsGet({ host: `${app}.${config.domain}`, port: config.httpsPort, path: urlPath, ca: server.managedCaddy?.localRootCertificate ?? '' }),
    stop,
    async close() {
      await stop();
      await server.managedCaddy?.terminate();
      await server.swarmCaddy?.remove();
      await removeInstanceObjects(instance);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
