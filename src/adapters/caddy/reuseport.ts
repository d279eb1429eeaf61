import fs from 'node:fs';
import type { Logger } from 'pino';

/**
 * Caddy (2.6 and later, on Linux) opens a new SO_REUSEPORT listener at every config load and
 * closes the old one; the kernel resets the connections still queued on the old one, so a
 * visitor arriving during a route switch could get "connection reset". With
 * net.ipv4.tcp_migrate_req=1 (Linux 5.14+) the kernel hands them to the new listener instead.
 */
export const MIGRATE_REQUESTS_SYSCTL = '/proc/sys/net/ipv4/tcp_migrate_req';

export type MigrateRequestsState = 'enabled' | 'set' | 'unavailable';

/** Turns the setting on when it can (root), and says plainly when it cannot. */
export function ensureReloadsKeepConnections(logger: Logger, sysctlPath = MIGRATE_REQUESTS_SYSCTL): MigrateRequestsState {
  let current: string;
  try {
    current = fs.readFileSync(sysctlPath, 'utf8').trim();
  } catch {
    logger.warn('this kernel has no net.ipv4.tcp_migrate_req (Linux 5.14+): a few new connections may be reset while Caddy reloads routes');
    return 'unavailable';
  }
  if (current === '1') return 'enabled';
  try {
    fs.writeFileSync(sysctlPath, '1');
    logger.info('set net.ipv4.tcp_migrate_req=1 so that Caddy route reloads never reset new connections');
    return 'set';
  } catch (error) {
    logger.warn(
      { error: error instanceof Error ? error.message : String(error) },
      'could not set net.ipv4.tcp_migrate_req=1: new connections may be reset while Caddy reloads routes; run `sysctl -w net.ipv4.tcp_migrate_req=1` as root',
    );
    return 'unavailable';
  }
}
