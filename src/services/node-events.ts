import type { Logger } from 'pino';
import type { ClusterNodes, EventLog } from '../domain/ports.js';
import type { ClusterNode } from '../domain/types.js';

/** How often the nodes are read even without an engine event (one missed, a stream down). */
export const NODE_POLL_MS = 5000;

/**
 * Tells the server's timeline when a node of the cluster goes down (`node.down`) and when it
 * is ready again or joins (`node.up`). The engine's node events (on managers) wake it, a poll
 * every `pollMs` catches what they missed; each change of a node's readiness is told once,
 * however many events or polls see it.
 */
export class NodeEvents {
  /** The state of each node at the last listing; undefined until the first one succeeded. */
  private known: Map<string, ClusterNode> | undefined;
  private watch: { stop(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly deps: { readonly cluster: ClusterNodes; readonly events: EventLog; readonly logger: Logger; readonly pollMs?: number },
  ) {}

  start(): void {
    this.watch = this.deps.cluster.watch(() => this.check());
    this.timer = setInterval(() => this.check(), this.deps.pollMs ?? NODE_POLL_MS);
    this.timer.unref();
    this.check();
  }

  /** Waits for the listing under way, so nothing is recorded after it returns. */
  async stop(): Promise<void> {
    this.watch?.stop();
    if (this.timer) clearInterval(this.timer);
    this.watch = undefined;
    this.timer = undefined;
    this.again = false;
    await this.running;
  }

  /** Lists the nodes now, or once more after the listing under way (a burst of events is one listing). */
  check(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.compare().finally(() => {
      this.running = undefined;
      if (this.again && this.timer) {
        this.again = false;
        this.check();
      }
    });
  }

  /** Resolves once no listing is under way (for tests). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async compare(): Promise<void> {
    let nodes: ClusterNode[];
    try {
      nodes = await this.deps.cluster.list();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'the cluster\'s nodes could not be listed');
      return;
    }
    const before = this.known;
    this.known = new Map(nodes.map((node) => [node.id, node]));
    if (!before) return;
    for (const node of nodes) {
      const previous = before.get(node.id);
      const ready = node.state === 'ready';
      if (!previous) {
        if (ready) this.record('node.up', `node ${node.hostname} (${node.role}) joined the cluster`);
      } else if (previous.state === 'ready' && !ready) {
        this.record('node.down', `node ${node.hostname} (${node.role}) is ${node.state} (it was ready)`);
      } else if (previous.state !== 'ready' && ready) {
        this.record('node.up', `node ${node.hostname} (${node.role}) is ready again (it was ${previous.state})`);
      }
    }
  }

  private record(kind: 'node.down' | 'node.up', message: string): void {
    this.deps.events.record({ appId: null, app: null, kind, message });
  }
}
