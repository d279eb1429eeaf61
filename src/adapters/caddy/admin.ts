import { createHash } from 'node:crypto';
import http from 'node:http';
import type { RouteLoader } from '../../domain/ports.js';
import { DependencyError } from '../../domain/errors.js';

/** Where Caddy's admin API listens: a unix socket path or a TCP host:port. */
export type AdminEndpoint = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/** Parses Caddy's own address forms: `unix//path`, `unix:/path`, `host:port`, `http://host:port`. */
export function parseAdminAddress(address: string): AdminEndpoint {
  const unix = /^unix\/?\/?(:)?(\/.+)$/.exec(address.replace(/^unix:/, 'unix'));
  if (unix?.[2]) return { socketPath: unix[2] };
  const url = new URL(address.includes('://') ? address : `http://${address}`);
  return { host: url.hostname, port: Number(url.port || 2019) };
}

export function adminAddressForCaddyfile(endpoint: AdminEndpoint): string {
  return 'socketPath' in endpoint ? `unix/${endpoint.socketPath}` : `${endpoint.host}:${endpoint.port}`;
}

interface AdminResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * Talks to Caddy's admin API. Caddy 2.6 on a unix socket only accepts an empty Host header,
 * and every /load replaces the admin server, so each call uses a fresh connection.
 */
export class CaddyAdmin implements RouteLoader {
  constructor(
    readonly endpoint: AdminEndpoint,
    private readonly timeoutMs = 30_000,
  ) {}

  async load(caddyfile: string): Promise<void> {
    let response: AdminResponse;
    try {
      response = await this.request('POST', '/load', caddyfile, 'text/caddyfile');
    } catch (error) {
      throw new DependencyError('PILOT_CADDY_UNREACHABLE', `Caddy's admin API does not answer: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (response.status >= 300) {
      throw new DependencyError('PILOT_CADDY_REFUSED', `Caddy refused the routes: ${caddyErrorMessage(response.body)}`);
    }
  }

  async reachable(): Promise<boolean> {
    try {
      const response = await this.request('GET', '/config/');
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /** Upstream addresses Caddy's reverse proxies currently know. */
  async upstreams(): Promise<string[]> {
    const response = await this.request('GET', '/reverse_proxy/upstreams');
    if (response.status !== 200) return [];
    return (JSON.parse(response.body) as { address: string }[]).map((upstream) => upstream.address);
  }

  async configFingerprint(): Promise<string> {
    const response = await this.request('GET', '/config/');
    if (response.status !== 200) throw new DependencyError('PILOT_CADDY_UNREACHABLE', `Caddy's config could not be read (${response.status})`);
    return createHash('sha256').update(response.body).digest('hex');
  }

  private request(method: string, path: string, body?: string, contentType?: string): Promise<AdminResponse> {
    const target =
      'socketPath' in this.endpoint
        ? { socketPath: this.endpoint.socketPath, setHost: false, headers: { Host: '' } as Record<string, string> }
        : { host: this.endpoint.host, port: this.endpoint.port, headers: {} as Record<string, string> };
    if (contentType) target.headers['Content-Type'] = contentType;
    return new Promise((resolve, reject) => {
      const request = http.request({ ...target, method, path, agent: false, timeout: this.timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

function caddyErrorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: string };
    if (parsed.error) return parsed.error;
  } catch {
    // not JSON: Caddy's text is the message
  }
  return body.trim() || 'no reason given';
}
