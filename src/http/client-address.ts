import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The header the managed Caddy adds to every request it proxies to the control plane, with a
 * key Pilot makes at start: only a request carrying it may tell Pilot the client's address
 * (X-Forwarded-For). Any other local process is just a loopback client, limited as such.
 */
export const PROXY_KEY_HEADER = 'x-pilot-proxy-key';

const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'] as const;

/**
 * Drops the forwarding headers of a request that did not come through Caddy, and the proxy
 * key itself (nothing after this needs it), so that fastify's trustProxy (loopback) only ever
 * reads what Caddy wrote. Says whether the request came through Caddy.
 */
export function dropUntrustedForwarding(headers: IncomingHttpHeaders, proxyKey: string): boolean {
  const presented = headers[PROXY_KEY_HEADER];
  delete headers[PROXY_KEY_HEADER];
  if (typeof presented === 'string' && sameSecret(presented, proxyKey)) return true;
  for (const header of FORWARDING_HEADERS) delete headers[header];
  return false;
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether an address is this machine's own (127.0.0.0/8, ::1, IPv4-mapped loopback included). */
export function isLoopback(ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && LOOPBACK.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
