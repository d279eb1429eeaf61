import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import semver from 'semver';

const run = promisify(execFile);

/** First Caddy release whose reverse_proxy knows `stream_close_delay`. */
const STREAM_CLOSE_DELAY_SINCE = '2.7.0';

/**
 * Version of the `caddy` binary on PATH (`v2.6.2 h1:...` → `2.6.2`), or undefined when
 * there is none. For an external Caddy this is the local binary's version, the best
 * guess without an admin endpoint that reports it.
 */
export async function caddyVersion(binary = 'caddy'): Promise<string | undefined> {
  try {
    const { stdout } = await run(binary, ['version'], { timeout: 10_000 });
    return semver.coerce(stdout)?.version;
  } catch {
    return undefined;
  }
}

/**
 * How long proxied WebSockets outlive a config reload. Caddy < 2.7 closes them at every
 * reload and has no option for it: undefined there (the README documents the limit).
 */
export function streamCloseDelayFor(version: string | undefined): string | undefined {
  return version !== undefined && semver.gte(version, STREAM_CLOSE_DELAY_SINCE) ? '5m' : undefined;
}
