import type { AppStore, EventLog } from '../domain/ports.js';
import { processLabel } from '../domain/process-identity.js';
import type { LiveEvent, LiveState } from './live-state.js';

/** Records what the live state sees happen to processes (a crash, a health change) in their app's timeline. */
export function recordProcessEvents(live: Pick<LiveState, 'subscribe'>, apps: Pick<AppStore, 'findByName'>, events: EventLog): () => void {
  return live.subscribe((event: LiveEvent) => {
    const { identity } = event.process;
    const app = apps.findByName(identity.app);
    if (!app) return;
    const base = { appId: app.id, app: app.name, release: identity.release, process: processLabel(identity) };
    const who = `${processLabel(identity)} of v${identity.release}`;
    if (event.kind === 'crashed') {
      events.record({ ...base, kind: 'process.crashed', message: `${who} exited and was restarted (${event.restarts} restart${event.restarts === 1 ? '' : 's'} so far)` });
    } else if (event.health === 'unhealthy') {
      events.record({ ...base, kind: 'process.unhealthy', message: `${who} is unhealthy: ${event.reason}` });
    } else if (event.health === 'healthy' && event.previous === 'unhealthy') {
      events.record({ ...base, kind: 'process.recovered', message: `${who} passes its health check again` });
    }
  });
}
