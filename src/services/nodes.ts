import type { ClusterNodes } from '../domain/ports.js';
import type { ClusterNode, NodeAvailability } from '../domain/types.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';

/**
 * The cluster's machines as `pilot nodes` manages them: list, the line that joins another,
 * drain and activate one named by its hostname or id. Without a cluster (PILOT_SCHEDULER=docker)
 * every call is refused with what to do.
 */
export class NodeService {
  constructor(private readonly cluster: ClusterNodes | undefined) {}

  async list(): Promise<ClusterNode[]> {
    return this.swarm().list();
  }

  async joinCommand(role: ClusterNode['role']): Promise<string> {
    return this.swarm().joinCommand(role);
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
