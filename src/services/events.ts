import type { Logger } from 'pino';
import type { EventLog, EventStore, NewEvent } from '../domain/ports.js';
import type { PilotEvent } from '../domain/types.js';

/** Each timeline (an app's, the server's) keeps its newest this many events. */
export const EVENTS_KEPT_PER_TIMELINE = 1000;

/** Which timeline a reader follows: one app's, or every one (the server's and all apps'). */
export type EventScope = { readonly appId: number } | 'all';

/**
 * What happened to the apps and the server, recorded once and told to whoever follows
 * (WebSocket streams, webhooks). Recording never fails the caller: a deploy does not stop
 * because its event could not be written.
 */
export class Events implements EventLog {
  private readonly followers = new Set<{ scope: EventScope; listener: (event: PilotEvent) => void }>();

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    private readonly keep = EVENTS_KEPT_PER_TIMELINE,
  ) {}

  record(event: NewEvent): void {
    let stored: PilotEvent;
    try {
      stored = this.store.append(event, this.keep);
    } catch (error) {
      this.logger.error({ err: error, event }, 'an event could not be recorded');
      return;
    }
    this.logger.info({ app: stored.app, kind: stored.kind, release: stored.release, process: stored.process }, stored.message);
    for (const { scope, listener } of this.followers) {
      if (scope !== 'all' && scope.appId !== stored.appId) continue;
      try {
        listener(stored);
      } catch (error) {
        this.logger.error({ err: error }, 'a follower of events failed');
      }
    }
  }

  /** Oldest first, the newest `limit` after `afterId`. */
  list(scope: EventScope, options: { afterId?: number; limit: number }): PilotEvent[] {
    return this.store.list({ ...(scope === 'all' ? {} : { appId: scope.appId }), ...options });
  }

  /** The id of the scope's newest event, 0 when there is none: what a page rendered now has seen. */
  newestId(scope: EventScope): number {
    return this.list(scope, { limit: 1 })[0]?.id ?? 0;
  }

  /**
   * Tells the stored events after `afterId` (as many as a timeline keeps), then each new one:
   * none lost between the two, none twice. Returns the unsubscription.
   */
  followAfter(scope: EventScope, afterId: number, listener: (event: PilotEvent) => void): () => void {
    let last = afterId;
    const tell = (event: PilotEvent): void => {
      if (event.id <= last) return;
      last = event.id;
      listener(event);
    };
    // Recording and listing are synchronous: nothing is recorded between the listing and the following.
    if (afterId > 0) for (const event of this.list(scope, { afterId, limit: this.keep })) tell(event);
    return this.follow(scope, tell);
  }

  /** Hears of every event of the scope from now on; returns the unsubscription. */
  follow(scope: EventScope, listener: (event: PilotEvent) => void): () => void {
    const follower = { scope, listener };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }
}
