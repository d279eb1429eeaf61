/** A swarm cluster in memory (the ClusterNodes port): nodes a test sets, calls it records. */
import type { ClusterNodes } from '../../src/domain/ports.js';
import type { ClusterNode, NodeAvailability } from '../../src/domain/types.js';
import { NotFoundError } from '../../src/domain/errors.js';

export function clusterNode(overrides: Partial<ClusterNode> & Pick<ClusterNode, 'id' | 'hostname'>): ClusterNode {
  return { role: 'worker', state: 'ready', availability: 'active', address: '10.0.0.1', labels: {}, leader: false, runningTasks: 0, ...overrides };
}

export class FakeCluster implements ClusterNodes {
  nodes: ClusterNode[];
  readonly availabilityChanges: string[] = [];
  /** Makes the next listings fail (an engine that went away). */
  failing = false;
  private readonly wakes = new Set<() => void>();

  constructor(nodes: readonly ClusterNode[]) {
    this.nodes = [...nodes];
  }

  async ensureManager(): Promise<void> {}

  async list(): Promise<ClusterNode[]> {
    if (this.failing) throw new Error('the engine does not answer');
    return this.nodes.map((node) => ({ ...node }));
  }

  async joinCommand(role: ClusterNode['role']): Promise<string> {
    return `docker swarm join --token SWMTKN-1-fake-${role} 10.0.0.1:2377`;
  }

  async setAvailability(nodeId: string, availability: NodeAvailability): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.id === nodeId);
    if (!node) throw new NotFoundError(`no such node: ${nodeId}`);
    this.availabilityChanges.push(`${nodeId} ${availability}`);
    this.update(nodeId, { availability });
  }

  watch(wake: () => void): { stop(): void } {
    this.wakes.add(wake);
    return { stop: () => this.wakes.delete(wake) };
  }

  /** Changes a node as the engine would, without telling the watchers. */
  update(nodeId: string, change: Partial<ClusterNode>): void {
    this.nodes = this.nodes.map((node) => (node.id === nodeId ? { ...node, ...change } : node));
  }

  /** An engine event: every watcher wakes. */
  emit(): void {
    for (const wake of this.wakes) wake();
  }

  get watchers(): number {
    return this.wakes.size;
  }
}
