import type { ClusterNodes } from '../domain/ports.js';
import type { ClusterNode, NodeAvailability } from '../domain/types.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';

/**
 * The cluster's machines as `pilot nodes` manages them: list, the line that joins another,
 * drain and activate one named by its hostname or id. Without a cluster (PILOT_SCHEDULER=docker)
 * every call is refused with what to do.
 */
/** What a node needs of the manager's registry to pull release images: its address and its CA's fingerprint. */
export interface RegistryJoinSettings {
  readonly address: string;
  readonly caFingerprint: string;
}

export class NodeService {
  constructor(
    private readonly cluster: ClusterNodes | undefined,
    private readonly registry?: { joinSettings(): RegistryJoinSettings | undefined },
  ) {}

  async list(): Promise<ClusterNode[]> {
    return this.swarm().list();
  }

  async joinCommand(role: ClusterNode['role']): Promise<string> {
    return this.swarm().joinCommand(role);
  }

  /** The `install.sh --join` line for a fresh server, once the registry runs; undefined before. */
  installCommand(dockerJoin: string): string | undefined {
    const registry = this.registry?.joinSettings();
    return registry && installJoinCommand(dockerJoin, registry);
  }

  /** Sets the availability of the node `ref` names; returns the node as it is then. */
  async setAvailability(ref: string, availability: NodeAvailability): Promise<ClusterNode> {
    const cluster = this.swarm();
    const node = findNode(await cluster.list(), ref);
    if (node.availability !== availability) await cluster.setAvailability(node.id, availability);
    return findNode(await cluster.list(), node.id);
  }

  private swarm(): ClusterNodes {
    if (!this.cluster) throw new ConflictError('swarm mode is off: set PILOT_SCHEDULER=swarm on a swarm manager to manage nodes');
    return this.cluster;
  }
}

/**
 * The node `ref` names: its id, its hostname, or a prefix of its id (as the docker CLI takes
 * them); an ambiguous name is refused with the ids to choose from.
 */
export function findNode(nodes: readonly ClusterNode[], ref: string): ClusterNode {
  const exact = nodes.find((node) => node.id === ref);
  if (exact) return exact;
  const named = nodes.filter((node) => node.hostname === ref);
  const matches = named.length > 0 ? named : nodes.filter((node) => node.id.startsWith(ref));
  if (matches.length === 1) return matches[0] as ClusterNode;
  if (matches.length === 0) {
    throw new NotFoundError(`no node "${ref}": the nodes are ${nodes.map((node) => node.hostname).join(', ') || '(none)'} (see \`pilot nodes\`)`);
  }
  throw new ConflictError(`"${ref}" names ${matches.length} nodes (${matches.map((node) => `${node.id} ${node.state}`).join(', ')}): use the id`);
}

/**
 * `docker swarm join --token T ADDRESS` as install.sh's one line for a fresh server: it installs
 * Docker, trusts the registry's CA (checked against the fingerprint) and joins.
 */
export function installJoinCommand(dockerJoin: string, registry: RegistryJoinSettings): string | undefined {
  const match = /^docker swarm join --token (\S+) (\S+)$/.exec(dockerJoin.trim());
  if (!match) return undefined;
  const [, token, manager] = match;
  return `./install.sh --join ${manager} --token ${token} --registry ${registry.address} --registry-ca-sha256 ${registry.caFingerprint}`;
}
