import net from 'node:net';
import type { Server } from 'node:http';

/**
 * The connections Pilot's Caddy makes to the control plane on an address of its own. In swarm
 * mode Caddy is a container: Pilot's loopback is not its, so Pilot also listens where the
 * container reaches the host (the manager's bridge gateway). Every request there must carry the
 * proxy key (src/http/app.ts refuses the others), which makes the peers on it Caddy: the only
 * other addresses, with loopback, whose X-Forwarded-For Pilot believes.
 */
export class CaddyOnlyConnections {
  private readonly sockets = new WeakSet<net.Socket>();
  private readonly peers = new Map<string, number>();

  /** Remembers a connection accepted on the Caddy-only address, and its peer while it is open. */
  admit(socket: net.Socket): void {
    this.sockets.add(socket);
    const peer = socket.remoteAddress;
    if (peer === undefined) return;
    this.peers.set(peer, (this.peers.get(peer) ?? 0) + 1);
    socket.once('close', () => {
      const left = (this.peers.get(peer) ?? 1) - 1;
      if (left > 0) this.peers.set(peer, left);
      else this.peers.delete(peer);
    });
  }

  /** Whether the connection came in on the Caddy-only address. */
  carries(socket: net.Socket): boolean {
    return this.sockets.has(socket);
  }

  /** Whether the address has a connection open on the Caddy-only address now. */
  isPeer(address: string): boolean {
    return this.peers.has(address);
  }
}

export interface CaddyOnlyListener {
  /** `host:port` Caddy reaches the control plane at. */
  readonly upstream: string;
  close(): Promise<void>;
}

/**
 * Listens on `host` (a port of the system's choosing: the main listener may hold PILOT_PORT on
 * every address) and hands each connection to the control plane's HTTP server, as if it had
 * accepted it itself.
 */
export function listenForCaddy(server: Server, connections: CaddyOnlyConnections, host: string, maxConnections: number): Promise<CaddyOnlyListener> {
  const listener = net.createServer((socket) => {
    connections.admit(socket);
    server.emit('connection', socket);
  });
  listener.maxConnections = maxConnections;
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host, port: 0 }, () => {
      listener.off('error', reject);
      const { port } = listener.address() as net.AddressInfo;
      resolve({
        upstream: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        close: () => new Promise((done) => listener.close(() => done())),
      });
    });
  });
}
