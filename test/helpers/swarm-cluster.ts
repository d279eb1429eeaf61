/**
 * A real three-node Docker Swarm on this one machine (the recipe of MACHINE-NOTES): three
 * Docker-in-Docker containers, each with its own dockerd, on a network of their own; a manager
 * and two workers. ONE cluster per test run: every swarm test file of the run gets the same one
 * (created by the first, found by its name by the others); a reaper process removes its
 * containers, volumes and network when the run (the `node --test` process) ends.
 *
 * The node image is the debootstrapped bookworm of scripts/build-local-images.sh with docker.io
 * added, tagged by the hash of its recipe and base, so later runs start at once. PILOT_SWARM_CLUSTER=NAME (for development) pins the
 * name and keeps the cluster after the run: `removeSwarmCluster(NAME)` or `docker rm -f` ends it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { runCommand } from './command.js';
import { fileURLToPath } from 'node:url';

const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Made by scripts/build-local-images.sh (the fresh machine of install.test.ts too). */
const BOOKWORM_IMAGE = 'pilot-local/bookworm-fresh:latest';
const NODE_IMAGE_REPOSITORY = 'pilot-local/swarm-node';
const LABEL = 'pilot.test-swarm';
const HOSTNAMES = ['swarm-manager', 'swarm-worker-1', 'swarm-worker-2'] as const;
/** The engine of each node answers here too, so a Pilot on the host can speak to the manager's. */
export const NODE_ENGINE_PORT = 2375;
const NODE_RECIPE = `FROM ${BOOKWORM_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      docker.io iptables ca-certificates iproute2 procps >/dev/null && rm -rf /var/lib/apt/lists/*
`;

export interface SwarmNode {
  /** The container that is this node. */
  readonly container: string;
  readonly hostname: string;
  readonly role: 'manager' | 'worker';
}

export interface SwarmCluster {
  readonly name: string;
  readonly manager: SwarmNode;
  readonly workers: readonly SwarmNode[];
  readonly nodes: readonly SwarmNode[];
  /** `tcp://<manager address>:2375`: DOCKER_HOST for a process on the host. */
  managerEngine(): Promise<string>;
  /** The node container's address on the cluster's network. */
  address(node: SwarmNode): Promise<string>;
  /** `docker ARGS` run by the node's own engine. */
  docker(node: SwarmNode, args: readonly string[]): Promise<string>;
  /** Stops the node's container (the machine goes away; its swarm state stays on its volume). */
  stop(node: SwarmNode): Promise<void>;
  /** Starts it again and waits until its engine answers (it rejoins the swarm by itself). */
  start(node: SwarmNode): Promise<void>;
  /** Waits until the manager lists every node Ready, or fails after the deadline. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Copies an image of this machine's engine into every node's (no registry reaches them); gone when a node stops. */
  loadImage(image: string): Promise<void>;
}

/** The run's cluster, created on first use. */
export async function swarmCluster(): Promise<SwarmCluster> {
  const pinned = process.env.PILOT_SWARM_CLUSTER;
  // Every test file of a run is a child of the one `node --test` process.
  const name = pinned ?? `pilot-swarm-${process.ppid}`;
  const cluster = clusterNamed(name);
  await withLock(name, async () => {
    if (await isFormed(cluster)) return;
    await removeSwarmCluster(name);
    await createCluster(cluster);
    if (!pinned) startReaper(name, process.ppid);
  });
  return cluster;
}

function clusterNamed(name: string): SwarmCluster {
  const nodes = HOSTNAMES.map((hostname, index): SwarmNode => ({ container: `${name}-${hostname}`, hostname, role: index === 0 ? 'manager' : 'worker' }));
  const manager = nodes[0] as SwarmNode;
  const address = async (node: SwarmNode): Promise<string> => {
    const ip = (await docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${name}").IPAddress}}`, node.container])).trim();
    if (!ip) throw new Error(`${node.container} has no address on ${name}`);
    return ip;
  };
  const inNode = (node: SwarmNode, args: readonly string[]) => docker(['exec', node.container, 'docker', ...args]);
  const engineAnswers = async (node: SwarmNode, timeoutMs: number) =>
    waitUntil(`the engine of ${node.container}`, async () => (await runCommand('docker', ['exec', node.container, 'docker', 'version'], undefined, 10_000)).code === 0, timeoutMs);
  return {
    name,
    manager,
    workers: nodes.slice(1),
    nodes,
    managerEngine: async () => `tcp://${await address(manager)}:${NODE_ENGINE_PORT}`,
    address,
    docker: inNode,
    async stop(node) {
      await docker(['stop', '-t', '10', node.container]);
    },
    async start(node) {
      await docker(['start', node.container]);
      await engineAnswers(node, 60_000);
    },
    async waitReady(timeoutMs = 120_000) {
      await waitUntil(`${name}: ${nodes.length} nodes Ready`, async () => (await readyNodes(this)) === nodes.length, timeoutMs);
    },
    async loadImage(image) {
      for (const node of nodes) {
        const loaded = await runCommand('bash', ['-c', 'set -o pipefail; docker save "$0" | docker exec -i "$1" docker load', image, node.container], undefined, 5 * 60_000);
        if (loaded.code !== 0) throw new Error(`loading ${image} into ${node.container} failed: ${loaded.output.slice(-2000)}`);
      }
    },
  };
}

async function readyNodes(cluster: SwarmCluster): Promise<number> {
  const listing = await runCommand('docker', ['exec', cluster.manager.container, 'docker', 'node', 'ls', '--format', '{{.Status}}'], undefined, 15_000);
  if (listing.code !== 0) return 0;
  return listing.output.split('\n').filter((line) => line.trim() === 'Ready').length;
}

/** Whether the cluster of that name exists, every node running and Ready. */
async function isFormed(cluster: SwarmCluster): Promise<boolean> {
  const running = await runCommand('docker', ['ps', '-q', '--filter', `label=${LABEL}=${cluster.name}`, '--filter', 'status=running']);
  if (running.output.trim().split('\n').filter(Boolean).length !== cluster.nodes.length) return false;
  return (await readyNodes(cluster)) === cluster.nodes.length;
}

async function createCluster(cluster: SwarmCluster): Promise<void> {
  const image = await ensureNodeImage();
  await docker(['network', 'create', '--label', `${LABEL}=${cluster.name}`, cluster.name]);
  for (const node of cluster.nodes) {
    await docker([
      'run', '-d', '--name', node.container, '--hostname', node.hostname, '--network', cluster.name, '--label', `${LABEL}=${cluster.name}`,
      // The recipe of MACHINE-NOTES: --privileged fails here; this runs an engine inside.
      '--cap-add=ALL', '--cap-drop=SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/var/lib/docker:exec', '--tmpfs', '/run:exec',
      // The swarm's state outlives a stop of the node (its images and containers do not).
      '--mount', `type=volume,source=${node.container}-swarm,target=/var/lib/docker/swarm,volume-label=${LABEL}=${cluster.name}`,
      image, 'sh', '-c', `exec dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:${NODE_ENGINE_PORT} >/var/log/dockerd.log 2>&1`,
    ]);
  }
  for (const node of cluster.nodes) {
    await waitUntil(`the engine of ${node.container}`, async () => (await runCommand('docker', ['exec', node.container, 'docker', 'version'], undefined, 10_000)).code === 0, 60_000);
  }
  const managerAddress = await cluster.address(cluster.manager);
  await cluster.docker(cluster.manager, ['swarm', 'init', '--advertise-addr', managerAddress]);
  const token = (await cluster.docker(cluster.manager, ['swarm', 'join-token', '-q', 'worker'])).trim();
  for (const worker of cluster.workers) {
    await cluster.docker(worker, ['swarm', 'join', '--advertise-addr', await cluster.address(worker), '--token', token, `${managerAddress}:2377`]);
  }
  await cluster.waitReady();
}

/** pilot-local/swarm-node:<hash of its recipe and base>, built once; older tags are removed. */
async function ensureNodeImage(): Promise<string> {
  if ((await runCommand('docker', ['image', 'inspect', BOOKWORM_IMAGE])).code !== 0) {
    const made = await runCommand(path.join(CHECKOUT, 'scripts', 'build-local-images.sh'), [], undefined, 20 * 60_000);
    if (made.code !== 0) throw new Error(`scripts/build-local-images.sh failed:\n${made.output.slice(-3000)}`);
  }
  const base = (await docker(['image', 'inspect', '-f', '{{.Id}}', BOOKWORM_IMAGE])).trim();
  const image = `${NODE_IMAGE_REPOSITORY}:${createHash('sha256').update(NODE_RECIPE).update(base).digest('hex').slice(0, 12)}`;
  if ((await runCommand('docker', ['image', 'inspect', image])).code === 0) return image;
  const built = await runCommand('docker', ['build', '-q', '-t', image, '-'], NODE_RECIPE, 20 * 60_000);
  if (built.code !== 0) throw new Error(`building ${image} failed:\n${built.output.slice(-3000)}`);
  const tags = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', NODE_IMAGE_REPOSITORY])).split('\n').filter(Boolean);
  for (const stale of tags.filter((tag) => tag !== image)) await runCommand('docker', ['rmi', stale]);
  return image;
}

/** Copies an image of this machine's engine into the manager node's only (builds and Pilot's Caddy run there). */
export async function loadIntoManager(cluster: SwarmCluster, image: string): Promise<void> {
  const loaded = await runCommand('bash', ['-c', 'set -o pipefail; docker save "$0" | docker exec -i "$1" docker load -q', image, cluster.manager.container], undefined, 5 * 60_000);
  if (loaded.code !== 0) throw new Error(`loading ${image} into ${cluster.manager.container} failed: ${loaded.output.slice(-2000)}`);
}

/** Removes the cluster's containers, volumes and network (what a run left, too). */
export async function removeSwarmCluster(name: string): Promise<void> {
  const filter = `label=${LABEL}=${name}`;
  const containers = (await docker(['ps', '-aq', '--filter', filter])).split('\n').filter(Boolean);
  if (containers.length > 0) await runCommand('docker', ['rm', '-f', '-v', ...containers]);
  const volumes = (await docker(['volume', 'ls', '-q', '--filter', filter])).split('\n').filter(Boolean);
  if (volumes.length > 0) await runCommand('docker', ['volume', 'rm', '-f', ...volumes]);
  const networks = (await docker(['network', 'ls', '-q', '--filter', filter])).split('\n').filter(Boolean);
  for (const network of networks) await runCommand('docker', ['network', 'rm', network]);
}

/** A detached process that removes the cluster once the test run's process is gone. */
function startReaper(name: string, runPid: number): void {
  const reaper = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swarm-cluster-reaper.ts');
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), reaper, name, String(runPid)], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** One creator at a time across the run's test processes (a lock file holding its pid). */
async function withLock(name: string, body: () => Promise<void>): Promise<void> {
  const lock = path.join(os.tmpdir(), `${name}.lock`);
  await waitUntil(`the lock ${lock}`, async () => {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (!isAlive(holder)) fs.rmSync(lock, { force: true });
      return false;
    }
  }, 30 * 60_000, 1000);
  try {
    await body();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}


async function docker(args: readonly string[]): Promise<string> {
  const result = await runCommand('docker', args, undefined, 5 * 60_000);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.code}): ${result.output.slice(-2000)}`);
  return result.output;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}
