import type Docker from 'dockerode';
import type { ClusterNodes } from '../../domain/ports.js';
import { NODE_AVAILABILITIES, type ClusterNode, type NodeAvailability } from '../../domain/types.js';
import { ConfigError, ConflictError, DependencyError, NotFoundError } from '../../domain/errors.js';
import { followEngineEvents } from './events.js';
import { messageOf, statusOf } from './errors.js';

/** The port managers listen on for joining nodes, when the engine does not say. */
const SWARM_PORT = 2377;
/** A node update racing another one is refused ("update out of sequence"): read it again this many times. */
const UPDATE_ATTEMPTS = 3;

interface NodeInfo {
  readonly ID?: string;
  readonly Version?: { readonly Index?: number };
  readonly Spec?: { readonly Role?: string; readonly Availability?: string; readonly Labels?: Record<string, string>; readonly Name?: string };
  readonly Description?: { readonly Hostname?: string };
  readonly Status?: { readonly State?: string; readonly Addr?: string };
  readonly ManagerStatus?: { readonly Leader?: boolean; readonly Addr?: string };
}

/**
 * The cluster's nodes through a swarm manager's engine (dockerode). `engine` names the engine
 * in messages (DOCKER_HOST, or the local socket).
 */
export class SwarmNodes implements ClusterNodes {
  constructor(
    private readonly docker: Docker,
    private readonly engine: string,
  ) {}

  async ensureManager(): Promise<void> {
    let swarm: { LocalNodeState?: string; ControlAvailable?: boolean };
    try {
      swarm = ((await this.docker.info()) as { Swarm?: typeof swarm }).Swarm ?? {};
    } catch (error) {
      throw new ConfigError([`PILOT_SCHEDULER=swarm, but ${this.engine} does not answer (${messageOf(error)}): start it, or check DOCKER_HOST`]);
    }
    const problem = managerProblem(swarm.LocalNodeState ?? 'inactive', swarm.ControlAvailable === true);
    if (problem) throw new ConfigError([`PILOT_SCHEDULER=swarm, but ${this.engine} ${problem}`]);
  }

  async list(): Promise<ClusterNode[]> {
    const [nodes, tasks] = await this.call('list the nodes', () =>
      Promise.all([
        this.docker.listNodes() as Promise<NodeInfo[]>,
        this.docker.listTasks({ filters: { 'desired-state': ['running'] } }) as Promise<{ NodeID?: string; Status?: { State?: string } }[]>,
      ]),
    );
    const running = new Map<string, number>();
    for (const task of tasks) {
      if (task.NodeID && task.Status?.State === 'running') running.set(task.NodeID, (running.get(task.NodeID) ?? 0) + 1);
    }
    return nodes.map((node) => clusterNode(node, running.get(node.ID ?? '') ?? 0));
  }

  async joinCommand(role: ClusterNode['role']): Promise<string> {
    const { token, address } = await this.call('read the join token', async () => {
      const [swarm, info] = await Promise.all([
        this.docker.swarmInspect() as Promise<{ JoinTokens?: { Worker?: string; Manager?: string } }>,
        this.docker.info() as Promise<{ Swarm?: { NodeID?: string; NodeAddr?: string } }>,
      ]);
      const self = (await this.docker.getNode(info.Swarm?.NodeID ?? '').inspect()) as NodeInfo;
      return {
        token: role === 'manager' ? swarm.JoinTokens?.Manager : swarm.JoinTokens?.Worker,
        address: self.ManagerStatus?.Addr ?? `${info.Swarm?.NodeAddr ?? ''}:${SWARM_PORT}`,
      };
    });
    if (!token) throw new DependencyError('PILOT_SWARM_UNAVAILABLE', `${this.engine} gave no ${role} join token: is it still a swarm manager?`);
    return `docker swarm join --token ${token} ${address}`;
  }

  async setAvailability(nodeId: string, availability: NodeAvailability): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const node = this.docker.getNode(nodeId);
      const current = (await this.call(`read node ${nodeId}`, () => node.inspect())) as NodeInfo;
      try {
        await node.update({ _query: { version: current.Version?.Index ?? 0 }, _body: { ...current.Spec, Availability: availability } });
        return;
      } catch (error) {
        // A concurrent change bumped the node's version: read it again.
        if (attempt < UPDATE_ATTEMPTS && /out of sequence/i.test(messageOf(error))) continue;
        throw this.failure(`change the availability of node ${nodeId}`, error);
      }
    }
  }

  watch(wake: () => void): { stop(): void } {
    return followEngineEvents(this.docker, { type: ['node'] }, () => wake(), wake);
  }

  private async call<T>(what: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  private failure(what: string, error: unknown): Error {
    const message = messageOf(error);
    if (statusOf(error) === 404) return new NotFoundError(`no such node: ${message}`);
    if (statusOf(error) === 503) return new ConflictError(`${this.engine} cannot ${what}: ${message} (is it still a swarm manager, with a quorum of managers?)`);
    return new DependencyError('PILOT_SWARM_UNAVAILABLE', `${this.engine} could not ${what}: ${message}`);
  }
}

/** Why an engine in this swarm state cannot run Pilot's swarm mode; undefined when it can. */
export function managerProblem(localNodeState: string, controlAvailable: boolean): string | undefined {
  if (localNodeState === 'active') {
    return controlAvailable ? undefined : 'is a worker of its swarm: run Pilot on a manager (promote this node with `docker node promote` on a manager, or point DOCKER_HOST at a manager)';
  }
  if (localNodeState === 'inactive') return 'is not part of a swarm: run `docker swarm init --advertise-addr ADDRESS` on this server first, or unset PILOT_SCHEDULER to run on this one engine';
  if (localNodeState === 'locked') return 'belongs to a locked swarm: unlock it with `docker swarm unlock` first';
  return `is in swarm state "${localNodeState}": wait until \`docker info\` says "Swarm: active" on a manager, then start Pilot again`;
}

function clusterNode(node: NodeInfo, runningTasks: number): ClusterNode {
  return {
    id: node.ID ?? '',
    hostname: node.Description?.Hostname ?? node.Spec?.Name ?? '',
    role: node.Spec?.Role === 'manager' ? 'manager' : 'worker',
    state: node.Status?.State ?? 'unknown',
    availability: NODE_AVAILABILITIES.find((value) => value === node.Spec?.Availability) ?? 'active',
    address: nodeAddress(node),
    labels: { ...node.Spec?.Labels },
    leader: node.ManagerStatus?.Leader === true,
    runningTasks,
  };
}

/** Some engines report a manager's own address as 0.0.0.0; its Raft address says where it is. */
function nodeAddress(node: NodeInfo): string {
  const reported = node.Status?.Addr ?? '';
  if (reported !== '' && reported !== '0.0.0.0') return reported;
  return node.ManagerStatus?.Addr?.replace(/:\d+$/, '') ?? reported;
}
