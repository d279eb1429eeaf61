import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebhookStore } from '../domain/ports.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { EVENT_KINDS, type EventKind, type PilotEvent, type Webhook } from '../domain/types.js';
import type { Events } from './events.js';

export interface DeliveryTiming {
  /** Tries per event and webhook: the first and the retries. */
  readonly attempts: number;
  /** The wait before the first retry; doubled before each next one. */
  readonly firstRetryMs: number;
  /** How long one POST may take. */
  readonly timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryTiming = { attempts: 5, firstRetryMs: 1000, timeoutMs: 5000 };

/** Deliveries waiting or under way at most; past it new ones are dropped (logged): a dead receiver must not pile them up. */
const MAX_PENDING_DELIVERIES = 1000;

/** What a receiver gets: the event, and a `text` Slack (and compatible chats) shows as the message. */
export interface WebhookPayload extends Omit<PilotEvent, 'appId'> {
  readonly text: string;
}

/**
 * Sends each event to the webhooks that want it (the server-wide ones, and its app's), as
 * JSON signed with the webhook's secret (`X-Pilot-Signature-256: sha256=<hex HMAC of the body>`,
 * as GitHub signs its own), retried with back-off. Delivery runs apart from whatever
 * recorded the event: a slow or failing receiver is logged and never slows a deploy.
 */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private unfollow: (() => void) | undefined;

  constructor(
    private readonly store: WebhookStore,
    private readonly logger: Logger,
    private readonly timing: DeliveryTiming = DEFAULT_DELIVERY,
  ) {}

  start(events: Pick<Events, 'follow'>): void {
    this.unfollow = events.follow('all', (event) => this.notify(event));
  }

  /** Stops following and gives up the retries still waiting. */
  stop(): void {
    this.stopped = true;
    this.unfollow?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Resolves once every delivery under way ended (tests). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  add(appId: number | null, input: { url: string; events?: readonly string[]; secret?: string }): Webhook {
    return this.store.add({ appId, url: webhookUrl(input.url), kinds: eventKinds(input.events ?? []), secret: input.secret ?? randomBytes(32).toString('hex') });
  }

  list(appId: number | null): Webhook[] {
    return this.store.list(appId);
  }

  remove(appId: number | null, id: number): void {
    if (!this.store.remove(id, appId)) throw new NotFoundError(`no webhook ${id} ${appId === null ? 'on the server (an app\'s is removed with -a APP)' : 'on this app'}`);
  }

  private notify(event: PilotEvent): void {
    if (this.stopped) return;
    for (const webhook of this.store.receiving(event.appId)) {
      if (webhook.kinds.length > 0 && !webhook.kinds.includes(event.kind)) continue;
      if (this.pending.size >= MAX_PENDING_DELIVERIES) {
        this.logger.warn({ webhook: webhook.id, event: event.id }, 'webhook delivery dropped: too many deliveries waiting (receivers failing?)');
        continue;
      }
      const delivery = this.deliver(webhook, event).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  private async deliver(webhook: Webhook, event: PilotEvent): Promise<void> {
    const body = JSON.stringify(payloadOf(event));
    const signature = `sha256=${createHmac('sha256', webhook.secret).update(body).digest('hex')}`;
    let problem = '';
    for (let attempt = 1; attempt <= this.timing.attempts && !this.stopped; attempt += 1) {
      try {
        const answer = await fetch(webhook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'Pilot-Webhook', 'x-pilot-event': event.kind, 'x-pilot-signature-256': signature },
          body,
          signal: AbortSignal.timeout(this.timing.timeoutMs),
          redirect: 'manual',
        });
        await answer.body?.cancel();
        if (answer.ok) return;
        problem = `answered ${answer.status}`;
      } catch (error) {
        problem = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      }
      if (attempt < this.timing.attempts) await this.wait(this.timing.firstRetryMs * 2 ** (attempt - 1));
    }
    this.logger.warn({ webhook: webhook.id, url: webhook.url, event: event.id, kind: event.kind, problem }, `webhook delivery failed after ${this.timing.attempts} attempts`);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
      // A retry given up at stop() resolves at once: the loop then sees `stopped`.
      if (this.stopped) resolve();
    });
  }
}

function payloadOf(event: PilotEvent): WebhookPayload {
  return {
    id: event.id, app: event.app, kind: event.kind, message: event.message, release: event.release, process: event.process, createdAt: event.createdAt,
    text: `${event.app ?? 'Pilot'}: ${event.message} (${event.kind})`,
  };
}

function webhookUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ValidationError(`"${input}" is not a URL: give the receiver's whole address, e.g. https://hooks.slack.com/services/...`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError(`${url.protocol} URLs cannot receive webhooks: use https:// (or http://)`);
  return url.toString();
}

function eventKinds(kinds: readonly string[]): EventKind[] {
  const unknown = kinds.filter((kind) => !(EVENT_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0) throw new ValidationError(`unknown event kind ${unknown.join(', ')}: use some of ${EVENT_KINDS.join(', ')}`);
  return [...new Set(kinds)] as EventKind[];
}
