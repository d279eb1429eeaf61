/**
 * Push webhooks of git hosts (pure): which host sent the request and whether its signature is
 * the app's secret's (GitHub, GitLab, Gitea, Forgejo, or Pilot's own signed form), what the
 * event says, and whether it deploys the app (decideWebhookPush). Only verified bodies are parsed.
 *
 * Pilot's own form, for CI systems and scripts: `POST` the JSON
 * `{"ref": "refs/heads/main", "after": "<commit sha, optional>", "deleted": false}` with
 * `X-Pilot-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>` (and optionally
 * `X-Pilot-Event: push` or `ping`), the signature Pilot's own webhooks send.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';

export type WebhookProvider = 'github' | 'gitlab' | 'gitea' | 'forgejo' | 'pilot';
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

export type WebhookVerdict = { readonly ok: true; readonly provider: WebhookProvider } | { readonly ok: false; readonly reason: string };

/** A branch or tag moved (or was deleted); `sha` is null when the event does not say (Pilot's form without "after"). */
export interface PushEvent {
  readonly kind: 'push';
  readonly provider: WebhookProvider;
  readonly ref: string;
  readonly sha: string | null;
  readonly deleted: boolean;
}

export type WebhookEvent =
  | PushEvent
  | { readonly kind: 'ping'; readonly provider: WebhookProvider }
  | { readonly kind: 'other'; readonly provider: WebhookProvider; readonly name: string };

export type PushDecision =
  | { readonly action: 'deploy'; readonly branch: string; readonly sha: string | null }
  | { readonly action: 'ignore'; readonly reason: string }
  /** A push to a branch the app does not deploy: a preview's, when its previews take the branch; else `reason`. */
  | { readonly action: 'other-branch'; readonly branch: string; readonly sha: string | null; readonly reason: string }
  | { readonly action: 'branch-deleted'; readonly branch: string };

/** The headers that carry each host's signature, as a refusal names them. */
export const SIGNATURE_HEADERS = 'X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab), X-Gitea-Signature (Gitea), X-Forgejo-Signature (Forgejo) or X-Pilot-Signature-256';

const ZERO_SHA = /^0+$/;
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The host that sent the request, by its headers: Forgejo sends Gitea's too, and Gitea GitHub's. */
export function webhookProvider(headers: WebhookHeaders): WebhookProvider | undefined {
  const has = (name: string) => header(headers, name) !== undefined;
  if (has('x-forgejo-event') || has('x-forgejo-signature')) return 'forgejo';
  if (has('x-gitea-event') || has('x-gitea-signature')) return 'gitea';
  if (has('x-gitlab-event') || has('x-gitlab-token')) return 'gitlab';
  if (has('x-github-event') || has('x-hub-signature-256')) return 'github';
  if (has('x-pilot-event') || has('x-pilot-signature-256')) return 'pilot';
  return undefined;
}

/** Whether the request carries the app's secret: an HMAC-SHA256 of the raw body (GitLab: the token itself), compared in constant time. */
export function verifyWebhook(headers: WebhookHeaders, body: Buffer, secret: string): WebhookVerdict {
  const provider = webhookProvider(headers);
  if (!provider) return { ok: false, reason: `the request is not signed: send ${SIGNATURE_HEADERS}` };
  const signatureHeader = { github: 'x-hub-signature-256', gitlab: 'x-gitlab-token', gitea: 'x-gitea-signature', forgejo: 'x-forgejo-signature', pilot: 'x-pilot-signature-256' }[provider];
  const sent = header(headers, signatureHeader)?.trim();
  if (!sent) return { ok: false, reason: `the ${provider} webhook has no ${signatureHeader} header: set the webhook's secret to the app's (pilot git:webhook)` };
  const wrong: WebhookVerdict = { ok: false, reason: `the ${signatureHeader} header does not match the app's webhook secret` };
  if (provider === 'gitlab') return sameBytes(digest(sent), digest(secret)) ? { ok: true, provider } : wrong;
  const hex = provider === 'github' || provider === 'pilot' ? /^sha256=([0-9a-f]{64})$/i.exec(sent)?.[1] : /^([0-9a-f]{64})$/i.exec(sent)?.[1];
  if (!hex) return { ok: false, reason: `the ${signatureHeader} header is not ${provider === 'github' || provider === 'pilot' ? 'sha256=' : ''}<64 hex digits> (an HMAC-SHA256 of the body)` };
  const expected = createHmac('sha256', secret).update(body).digest();
  return sameBytes(Buffer.from(hex, 'hex'), expected) ? { ok: true, provider } : wrong;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What a verified request says. A body that is not the event's JSON is a ValidationError naming the field. */
export function parseWebhookEvent(provider: WebhookProvider, headers: WebhookHeaders, body: Buffer, contentType: string): WebhookEvent {
  const name = eventName(provider, headers);
  if (name === 'ping') return { kind: 'ping', provider };
  const payload = payloadOf(body, contentType);
  if (provider === 'gitlab') {
    if (name !== 'Push Hook' && name !== 'Tag Push Hook') return { kind: 'other', provider, name };
    const sha = field(payload, 'after', 'string');
    checkSha(sha);
    const deleted = ZERO_SHA.test(sha);
    return { kind: 'push', provider, ref: field(payload, 'ref', 'string'), sha: deleted ? null : sha, deleted };
  }
  if (name === 'delete' && provider !== 'pilot') {
    // GitHub's and Gitea's delete event names the ref without refs/heads/.
    const refType = field(payload, 'ref_type', 'string');
    const ref = field(payload, 'ref', 'string');
    return { kind: 'push', provider, ref: `refs/${refType === 'tag' ? 'tags' : 'heads'}/${ref}`, sha: null, deleted: true };
  }
  if (name !== 'push') return { kind: 'other', provider, name };
  const ref = provider === 'pilot' && payload.ref === undefined && payload.branch !== undefined ? `refs/heads/${field(payload, 'branch', 'string')}` : field(payload, 'ref', 'string');
  const after = provider === 'pilot' && payload.after === undefined ? null : field(payload, 'after', 'string');
  if (after !== null) checkSha(after);
  const deleted = (payload.deleted === undefined ? false : field(payload, 'deleted', 'boolean')) || (after !== null && ZERO_SHA.test(after));
  return { kind: 'push', provider, ref, sha: after === null || ZERO_SHA.test(after) ? null : after, deleted };
}

function eventName(provider: WebhookProvider, headers: WebhookHeaders): string {
  const names: Record<WebhookProvider, string[]> = {
    github: ['x-github-event'],
    gitlab: ['x-gitlab-event'],
    gitea: ['x-gitea-event', 'x-github-event'],
    forgejo: ['x-forgejo-event', 'x-gitea-event'],
    pilot: ['x-pilot-event'],
  };
  for (const name of names[provider]) {
    const value = header(headers, name)?.trim();
    if (value) return value;
  }
  // Pilot's form is a push unless it says otherwise; the hosts always name their event.
  if (provider === 'pilot') return 'push';
  throw new ValidationError(`the ${provider} webhook names no event (${names[provider][0]})`);
}

/** The JSON body (GitHub and Gitea also send it form-encoded, as `payload=`). */
function payloadOf(body: Buffer, contentType: string): Record<string, unknown> {
  let text = body.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new ValidationError('the form-encoded webhook has no payload field');
    text = payload;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('the webhook body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('the webhook body must be a JSON object');
  return value as Record<string, unknown>;
}

function field<T extends 'string' | 'boolean'>(payload: Record<string, unknown>, name: string, type: T): T extends 'string' ? string : boolean {
  const value = payload[name];
  if (typeof value !== type) throw new ValidationError(`the webhook's "${name}" must be a ${type}${value === undefined ? ' (it is missing)' : `, not ${value === null ? 'null' : typeof value}`}`);
  if (type === 'string' && (value as string).length > 1024) throw new ValidationError(`the webhook's "${name}" is too long`);
  return value as T extends 'string' ? string : boolean;
}

function checkSha(sha: string): void {
  if (!SHA.test(sha)) throw new ValidationError(`the webhook's "after" must be a commit sha (40 or 64 hex digits), not "${sha.slice(0, 80)}"`);
}

/**
 * Whether a push deploys the app: only a branch, only the app's branch (Pilot fetches its head,
 * the newest at the time the deploy starts). A deleted branch is its own result, for whoever
 * owns that branch (the deploy branch's deletion deploys nothing; the live release serves on).
 */
export function decideWebhookPush(event: PushEvent, app: { readonly name: string; readonly branch: string }): PushDecision {
  const branch = event.ref.startsWith('refs/heads/') ? event.ref.slice('refs/heads/'.length) : undefined;
  if (branch === undefined || branch === '') return { action: 'ignore', reason: `${event.ref} is not a branch (${app.name} deploys the branch ${app.branch}): nothing was deployed` };
  if (event.deleted) return { action: 'branch-deleted', branch };
  if (branch !== app.branch) {
    return { action: 'other-branch', branch, sha: event.sha, reason: `a push to ${branch}, not to ${app.branch} (the branch ${app.name} deploys): nothing was deployed` };
  }
  return { action: 'deploy', branch, sha: event.sha };
}
