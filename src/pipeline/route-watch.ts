import type { Logger } from 'pino';
import type { StaleRoutes } from './switch.js';

const REASONS: Record<StaleRoutes, string> = {
  'caddy-config-changed': "Caddy's config is no longer Pilot's (Caddy restarted or was reloaded by someone else)",
  'container-address-changed': 'a routed container came back at a new address (Docker engine restart)',
  'tasks-changed': 'a task started, is shutting down or moved (Swarm)',
};

/**
 * Checks every interval that Caddy still routes what Pilot loaded, and reloads when not.
 * Works for the managed and an external Caddy alike; the managed one is also restarted by its
 * own watchdog. Errors are logged once per distinct message, not at every tick.
 */
export function watchRoutes(
  routes: { refreshIfStale(): Promise<StaleRoutes | undefined> },
  logger: Logger,
  intervalMs: number,
  /** Wakes the check at once (a container started); the interval stays as the safety net. */
  subscribe: (wake: () => void) => { stop(): void },
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let lastError: string | undefined;
  let checking: Promise<void> | undefined;
  let wokenWhileChecking = false;
  const check = async (): Promise<void> => {
    try {
      const reloaded = await routes.refreshIfStale();
      if (reloaded) logger.info({ reason: reloaded }, `routes reloaded: ${REASONS[reloaded]}`);
      lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) logger.warn({ err: error }, 'could not check the routes in Caddy');
      lastError = message;
    }
  };
  const tick = async (): Promise<void> => {
    if (!timer) return;
    if (checking) {
      wokenWhileChecking = true;
      return;
    }
    clearTimeout(timer);
    checking = check();
    await checking;
    checking = undefined;
    if (!timer) return;
    if (wokenWhileChecking) {
      wokenWhileChecking = false;
      timer = setTimeout(() => void tick(), 0);
    } else {
      timer = setTimeout(() => void tick(), intervalMs);
    }
  };
  timer = setTimeout(() => void tick(), intervalMs);
  const subscription = subscribe(() => void tick());
  return {
    stop() {
      subscription.stop();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
