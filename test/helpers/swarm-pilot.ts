/**
 * A Pilot on this machine in swarm mode on the test cluster of swarm-cluster.ts, as the swarm
 * e2e tests and bench/swarm.ts run it: it speaks to the manager's engine over TCP, its Caddy
 * runs as a container on the manager (plain HTTP there), and release images reach the workers
 * through the registry it runs on the manager. close() removes what it made on the cluster.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, localImages, waitFor } from './integration.js';
import { startTestPilot, type TestPilot } from './pilot.js';
import { loadIntoManager, type SwarmCluster } from './swarm-cluster.js';
import { ensureRegistryImage, loadImageInto } from './registry-image.js';
import { runCommand } from './command.js';

export interface SwarmPilot {
  readonly pilot: TestPilot;
  /** The manager node's address, where Caddy answers at pilot.httpPort. */
  readonly managerAddress: string;
  /** `host:port` of the registry on the manager. */
  readonly registryAddress: string;
  /** A GET of an app through the Caddy container on the manager, by plain HTTP. */
  /** `headers.Host` instead of the app's own host (a custom domain). */
  get(app: string, urlPath?: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** The app's web tasks Swarm wants running: the node of each and its current state (`Running`, `Starting`...). */
  webTasks(app: string): Promise<{ node: string; state: string }[]>;
  /** `address:5000` on the app's overlay of each web task Swarm wants running (on `node` only, if given), sorted: what Caddy should route to. */
  webTaskAddresses(app: string, node?: string): Promise<string[]>;
  /** Stops Pilot and removes its services, containers, overlays, volumes, node labels and images on every node. */
  close(): Promise<void>;
}

/** `bash -c SCRIPT` on this machine (the nodes' engines are reached with `docker exec`); throws with its output when it fails. */
export async function sh(script: string, input?: string): Promise<string> {
  const result = await runCommand('bash', ['-c', `set -o pipefail; ${script}`], input);
  if (result.code !== 0) throw new Error(`${script}: exit ${result.code}: ${result.output.slice(-2000)}`);
  return result.output;
}

export async function startSwarmPilot(cluster: SwarmCluster, env: Record<string, string> = {}): Promise<SwarmPilot> {
  const managerAddress = await cluster.address(cluster.manager);
  const { nodeImage, staticImage } = localImages();
  // The nodes have no images of their own: builds start from the node image, Caddy runs the static one's caddy.
  await loadIntoManager(cluster, nodeImage);
  await loadIntoManager(cluster, staticImage);
  // Release images reach the workers through the registry Pilot runs on the manager, as in swarm mode by default.
  const registryImage = await ensureRegistryImage();
  await loadImageInto(cluster.manager.container, registryImage);
  const registryAddress = `${managerAddress}:${await freePort()}`;
  // This machine's address on the nodes' network: the Caddy container on the manager reaches the control plane there.
  const hostAddress = (await sh(`docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' ${cluster.name}`)).trim();
  const pilot = await startTestPilot({
    DOCKER_HOST: await cluster.managerEngine(),
    PILOT_SCHEDULER: 'swarm',
    PILOT_TLS: 'off',
    PILOT_CADDY_IMAGE: staticImage,
    // Pilot runs on this machine, not on the manager: Caddy's admin is published on the manager's address.
    PILOT_SWARM_CADDY_ADMIN: `${managerAddress}:${await freePort()}`,
    PILOT_SWARM_CONTROL_PLANE_BIND: hostAddress,
    PILOT_HEALTH_TIMEOUT: '10',
    PILOT_REGISTRY_IMAGE: registryImage,
    PILOT_REGISTRY_PORT: registryAddress.split(':')[1] ?? '',
    // The stats agent publishes it on every node: a port of this run's, not the default another Pilot on the cluster may hold.
    PILOT_SWARM_AGENT_PORT: String(await freePort()),
    ...env,
  });
  const instance = pilot.server.config.instance;

  async function close(): Promise<void> {
    await pilot.close();
    // What this Pilot made on the cluster: its services (the apps' and the stats agent, <instance>-agent), overlay, Caddy and images (releases', the agent's).
    await sh(`docker exec ${cluster.manager.container} sh -c 'docker service ls -q --filter label=pilot.instance=${instance} | xargs -r docker service rm'`).catch(() => undefined);
    await sh(`docker exec ${cluster.manager.container} docker rm -f ${instance}-caddy ${instance}-registry`).catch(() => undefined);
    await sh(`docker exec ${cluster.manager.container} docker volume rm ${instance}-registry-data`).catch(() => undefined);
    await waitFor('the overlay removed', async () =>
      sh(`docker exec ${cluster.manager.container} sh -c 'docker network ls -q --filter label=pilot.instance=${instance} | xargs -r docker network rm'`).then(() => true, () => undefined), 60_000, 1000,
    ).catch(() => undefined);
    for (const node of cluster.nodes) {
      // Release images under their own name (the manager's) and as pulled from the registry (every node's).
      await sh(`docker exec ${node.container} sh -c 'docker ps -aq --filter label=pilot.instance=${instance} | xargs -r docker rm -f; docker images --format "{{.Repository}}:{{.Tag}}" | grep -E "(^|/)${instance}/" | xargs -r docker rmi -f; rm -rf /etc/docker/certs.d/${registryAddress}'`).catch(() => undefined);
    }
    // The app volumes on the manager, and the node labels that placed their apps there.
    await sh(`docker exec ${cluster.manager.container} sh -c 'docker volume ls -q --filter label=pilot.instance=${instance} | xargs -r docker volume rm'`).catch(() => undefined);
    for (const node of cluster.nodes) {
      const labels = (await cluster.docker(cluster.manager, ['node', 'inspect', '-f', '{{range $key, $value := .Spec.Labels}}{{$key}} {{end}}', node.hostname]).catch(() => '')).split(' ').filter((key) => key.startsWith(`pilot.volume.${instance}-`));
      if (labels.length > 0) await cluster.docker(cluster.manager, ['node', 'update', ...labels.flatMap((key) => ['--label-rm', key]), node.hostname]).catch(() => undefined);
    }
    await sh(`docker exec ${cluster.manager.container} docker rmi ${registryImage}`).catch(() => undefined);
  }

  try {
    // The registry runs once the join command offers the line for a fresh server; the workers
    // then trust its CA as `install.sh --join` makes a new server do (the manager's engine Pilot has trust it itself).
    await waitFor('the registry started', async () => {
      const answer = await pilot.server.app.inject({ method: 'GET', url: '/api/v1/nodes/join-command', headers: { authorization: `Bearer ${pilot.token}` } });
      return answer.statusCode === 200 && (JSON.parse(answer.body) as { install?: string }).install ? true : undefined;
    }, 120_000, 500);
    const ca = fs.readFileSync(path.join(pilot.server.paths.registryDir, 'ca.crt'), 'utf8');
    for (const worker of cluster.workers) {
      await sh(`docker exec -i ${worker.container} sh -c 'mkdir -p /etc/docker/certs.d/${registryAddress} && cat > /etc/docker/certs.d/${registryAddress}/ca.crt'`, ca);
    }
  } catch (error) {
    await close();
    throw error;
  }

  const get = (app: string, urlPath = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const request = http.get({ host: managerAddress, port: pilot.httpPort, path: urlPath, headers: { Host: `${app}.${pilot.domain}`, ...headers }, agent: false, timeout: 10_000 }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', reject);
    });

  const webService = (app: string) => `${instance}-${app}-web`;
  return {
    pilot,
    managerAddress,
    registryAddress,
    get,
    async webTasks(app) {
      const lines = await cluster.docker(cluster.manager, ['service', 'ps', webService(app), '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}']);
      return lines.split('\n').filter(Boolean).map((line) => ({ node: line.split(' ')[0] ?? '', state: line.split(' ')[1] ?? '' }));
    },
    async webTaskAddresses(app, node) {
      const onNode = node === undefined ? [] : ['--filter', `node=${node}`];
      const ids = (await cluster.docker(cluster.manager, ['service', 'ps', '-q', '--filter', 'desired-state=running', ...onNode, webService(app)])).split('\n').filter(Boolean);
      if (ids.length === 0) return [];
      const format = `{{range .NetworksAttachments}}{{if eq .Network.Spec.Name "${instance}-${app}-net"}}{{index .Addresses 0}}{{end}}{{end}}`;
      const lines = (await cluster.docker(cluster.manager, ['inspect', '-f', format, ...ids])).split('\n').filter(Boolean);
      return lines.map((line) => `${line.split('/')[0]}:5000`).sort();
    },
    close,
  };
}
