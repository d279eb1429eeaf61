import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import { GitClient, freePort, httpsGet, integrationSkipReason, remoteUrl, stopChild, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const docker = new Docker();

/** A Caddy that Pilot does not manage (PILOT_CADDY_ADMIN), as a distribution's caddy.service runs it. */
class ExternalCaddy {
  private process: ChildProcess | undefined;
  readonly dir = tempDir('external-caddy');
  readonly adminSocket = path.join(this.dir, 'admin.sock');
  private readonly caddyfile = path.join(this.dir, 'Caddyfile');

  constructor(httpPort: number, httpsPort: number) {
    // Its own config, which knows nothing of Pilot's apps (what a restarted service loads).
    fs.writeFileSync(this.caddyfile, `{\n\tadmin unix/${this.adminSocket}\n\thttp_port ${httpPort}\n\thttps_port ${httpsPort}\n\tlocal_certs\n\tskip_install_trust\n}\n`);
  }

  get rootCertificate(): string {
    return path.join(this.dir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  }

  async start(): Promise<void> {
    const home = { HOME: this.dir, XDG_DATA_HOME: path.join(this.dir, 'data'), XDG_CONFIG_HOME: path.join(this.dir, 'config') };
    fs.rmSync(this.adminSocket, { force: true });
    this.process = spawn('caddy', ['run', '--config', this.caddyfile, '--adapter', 'caddyfile'], {
      env: { ...process.env, ...home },
      stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, 'caddy.log'), 'a')],
    });
    await waitFor('the external Caddy admin socket', async () => (fs.existsSync(this.adminSocket) ? true : undefined));
  }

  async kill(): Promise<void> {
    await stopChild(this.process, 'SIGKILL');
  }
}

function assertPushed(result: GitResult): void {
  assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
}

async function deployStatic(pilot: TestPilot, app: string, content: string): Promise<void> {
  const client = new GitClient(tempDir(app));
  await client.init();
  await client.commit({ 'index.html': content });
  assertPushed(await client.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']));
}

describe('routes follow an external Caddy restarted with its own config (real Caddy, Docker, git)', { skip }, () => {
  let pilot: TestPilot;
  let caddy: ExternalCaddy;

  before(async () => {
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    caddy = new ExternalCaddy(httpPort, httpsPort);
    await caddy.start();
    pilot = await startTestPilot({
      PILOT_CADDY_ADMIN: `unix/${caddy.adminSocket}`,
      PILOT_HTTP_PORT: String(httpPort),
      PILOT_HTTPS_PORT: String(httpsPort),
    });
  });
  after(async () => {
    await pilot?.close();
    await caddy?.kill();
  });

  it('notices the restart and loads the routes again, without a push', async () => {
    assert.equal(pilot.server.managedCaddy, undefined, 'Pilot must not manage this Caddy');
    await deployStatic(pilot, 'outside', 'served through an external Caddy');
    const get = () => httpsGet({ host: `outside.${pilot.domain}`, port: pilot.httpsPort, ca: caddy.rootCertificate });
    // This Caddy's CA was born a moment ago: its first certificates may not be valid for up to a second.
    const first = await waitFor('the app through the external Caddy', async () => {
      const response = await get().catch(() => undefined);
      return response?.status === 200 ? response : undefined;
    }, 30_000, 250);
    assert.equal(first.body, 'served through an external Caddy');

    await caddy.kill();
    await caddy.start();
    // The restarted Caddy has only its own config; Pilot's watch must put the app back.
    const answer = await waitFor('the app through the restarted Caddy', async () => {
      const response = await get().catch(() => undefined);
      return response?.status === 200 ? response : undefined;
    }, 30_000, 250);
    assert.equal(answer.body, 'served through an external Caddy');
  });
});

/** dockerd as .ci/run starts it; with systemd the unit restarts it. */
async function restartDockerEngine(): Promise<void> {
  if (fs.existsSync('/run/systemd/system')) {
    execFileSync('systemctl', ['restart', 'docker']);
  } else {
    const pid = Number(fs.readFileSync('/var/run/docker.pid', 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await waitFor('dockerd to exit', async () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 60_000, 200);
    spawn('setsid', ['dockerd', '--host', 'unix:///var/run/docker.sock', '--default-address-pool', 'base=10.200.0.0/16,size=24'], {
      detached: true,
      stdio: ['ignore', fs.openSync('/var/log/dockerd.log', 'a'), fs.openSync('/var/log/dockerd.log', 'a')],
    }).unref();
  }
  await waitFor('the Docker engine after its restart', async () => (await docker.ping().then(() => true).catch(() => undefined)), 60_000, 250);
}

describe('routes follow containers across a Docker engine restart (real engine restart, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  const labels = (app: string) => ({ label: [`pilot.instance=${pilot.server.config.instance}`, `pilot.app=${app}`] });
  const get = (app: string) => httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });

  async function webAddresses(app: string): Promise<string[]> {
    const containers = await docker.listContainers({ filters: labels(app) });
    return containers.flatMap((container) => Object.values(container.NetworkSettings.Networks).map((network) => network.IPAddress)).filter(Boolean).sort();
  }

  async function routedAddresses(): Promise<string[]> {
    return (await pilot.server.caddyAdmin.upstreams()).map((upstream) => upstream.slice(0, upstream.lastIndexOf(':'))).sort();
  }

  /** Until the app answers with its own page (right after a restart it may answer another's: see docs/guarantees.md). */
  async function answers(app: string, body: string): Promise<void> {
    const answer = await waitFor(`${app} through Caddy with its own page`, async () => {
      const response = await get(app).catch(() => undefined);
      return response?.status === 200 && response.body === body ? response : undefined;
    }, 60_000, 250);
    assert.equal(answer.body, body);
  }

  /** Waits until Caddy routes to exactly the apps' current container addresses. */
  async function routesFollow(apps: string[]): Promise<string[]> {
    return waitFor('Caddy routing to the current container addresses', async () => {
      const current = (await Promise.all(apps.map(webAddresses))).flat().sort();
      const routed = await routedAddresses();
      return current.length === apps.length && current.every((ip) => routed.includes(ip)) ? current : undefined;
    }, 30_000, 250);
  }

  it('brings the apps back after the engine restarts and routes to where they are now', async () => {
    await deployStatic(pilot, 'first', 'first app');
    await deployStatic(pilot, 'second', 'second app');
    await restartDockerEngine();
    await answers('first', 'first app');
    await answers('second', 'second app');
    const addresses = await routesFollow(['first', 'second']);
    assert.equal(addresses.length, 2);
  });

  it('moves the route when a serving container comes back at another address', async () => {
    const [container] = await docker.listContainers({ filters: labels('first') });
    assert.ok(container, 'the first app runs');
    const [networkName] = Object.keys(container.NetworkSettings.Networks);
    assert.ok(networkName);
    const network = docker.getNetwork(networkName);
    const [oldAddress] = await webAddresses('first');
    // Off the network, then back after a placeholder took its old address: a certain change.
    await network.disconnect({ Container: container.Id });
    const placeholder = await docker.createContainer({
      Image: container.Image,
      Labels: { 'pilot.instance': pilot.server.config.instance }, HostConfig: { NetworkMode: networkName },
    });
    await placeholder.start();
    try {
      await network.connect({ Container: container.Id });
      const [newAddress] = await webAddresses('first');
      assert.notEqual(newAddress, oldAddress, 'the container has a new address');
      const routed = await routesFollow(['first', 'second']);
      assert.ok(routed.includes(newAddress ?? ''), `Caddy routes the new address ${newAddress}`);
      assert.ok(!(await routedAddresses()).includes(oldAddress ?? ''), 'and no longer the old one');
      await answers('first', 'first app');
    } finally {
      await placeholder.remove({ force: true });
    }
  });

  it('routes a container again when it comes back after a reload left it out', async () => {
    const [container] = await docker.listContainers({ filters: labels('second') });
    assert.ok(container, 'the second app runs');
    await docker.getContainer(container.Id).stop({ t: 1 });
    // Any reload while it is down (another app's deploy, say) renders the app without it.
    await pilot.server.routes.reload();
    await docker.getContainer(container.Id).start();
    await answers('second', 'second app');
    await routesFollow(['first', 'second']);
  });
});
