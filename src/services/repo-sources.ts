import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppStore, RepoSourceStore, RepositoryFetcher } from '../domain/ports.js';
import type { App, RepoSource } from '../domain/types.js';
import type { RepoHookAnswer, RepoSourceView, RepoWebhookView, SetRepoBody } from '../domain/shapes.js';
import { NotFoundError, PilotError, UnauthorizedError } from '../domain/errors.js';
import type { Deployer, PreparedSource } from '../pipeline/deploy.js';
import { DEFAULT_BRANCH, checkBranch, checkCredential, checkRepoUrl } from '../pipeline/repo-url.js';
import { decideWebhookPush, parseWebhookEvent, verifyWebhook, type PushDecision, type WebhookHeaders } from '../pipeline/push-webhooks.js';
import { CoalescedRuns } from './coalesced-runs.js';

export interface RepoSourceDeps {
  readonly apps: Pick<AppStore, 'findByName'>;
  readonly sources: RepoSourceStore;
  readonly fetcher: RepositoryFetcher;
  readonly deployer: Pick<Deployer, 'deployPrepared'>;
  readonly maxPushBytes: number;
  readonly logger: Logger;
}

/** A webhook request as the route hands it over: the raw body, for its signature. */
export interface WebhookRequest {
  readonly app: string;
  readonly headers: WebhookHeaders;
  readonly body: Buffer;
  readonly contentType: string;
}

/**
 * Apps deployed from a repository URL: the source (URL, branch, credential) and its webhook
 * secret, `git:sync` (fetch the branch's head, deploy it as a push), and the push webhook,
 * whose deploys coalesce: one at a time per app, at most one waiting, fetching the newest head.
 */
export class RepoSources {
  private readonly webhookDeploys: CoalescedRuns;

  constructor(private readonly deps: RepoSourceDeps) {
    this.webhookDeploys = new CoalescedRuns((app, error) => deps.logger.error({ err: error, app }, 'webhook deploy crashed'));
  }

  view(app: App): RepoSourceView {
    return viewOf(app, this.get(app));
  }

  /** The source, or a 404 that says how to set one. */
  get(app: App): RepoSource {
    const source = this.deps.sources.get(app.id);
    if (!source) throw new NotFoundError(`${app.name} has no repository URL: set one with \`pilot apps:repo:set https://... -a ${app.name}\``);
    return source;
  }

  /** Refuses a URL, branch or credential Pilot would not fetch with, before anything is written. */
  check(body: SetRepoBody): void {
    checkRepoUrl(body.url);
    checkBranch(body.branch ?? DEFAULT_BRANCH);
    if (typeof body.credential === 'string') checkCredential(body.credential);
  }

  /** Sets or changes the app's repository; an absent credential keeps the one set, null removes it. */
  set(app: App, body: SetRepoBody): RepoSourceView {
    this.check(body);
    const url = checkRepoUrl(body.url);
    const previous = this.deps.sources.get(app.id);
    // A credential set for one host is never sent to another one.
    const kept = previous && new URL(previous.url).origin === new URL(url).origin ? previous.credential : null;
    const credential = body.credential === undefined ? kept : body.credential === null ? null : checkCredential(body.credential);
    const source = this.deps.sources.put(app.id, { url, branch: body.branch ?? DEFAULT_BRANCH, credential }, newSecret());
    return viewOf(app, source);
  }

  remove(app: App): void {
    if (!this.deps.sources.remove(app.id)) throw new NotFoundError(`${app.name} has no repository URL`);
  }

  webhook(app: App): RepoWebhookView {
    return { webhookPath: hookPath(app.name), secret: this.get(app).webhookSecret };
  }

  /** A new secret: the old one is refused from now on. */
  rotateWebhookSecret(app: App): RepoWebhookView {
    this.get(app);
    const secret = newSecret();
    this.deps.sources.setWebhookSecret(app.id, secret);
    return { webhookPath: hookPath(app.name), secret };
  }

  /** Fetches the branch's head and deploys it through the push's build and rollout; resolves whether it went live. */
  sync(app: App, write: (line: string) => void): Promise<boolean> {
    this.get(app);
    return this.deps.deployer.deployPrepared(app.name, (locked, output) => this.fetch(locked, output), write);
  }

  /**
   * A push webhook. Anything unsigned, wrongly signed, or for an app without a repository is
   * the same 401, before the body is read as JSON: nothing is fetched, nothing told apart.
   */
  receiveWebhook(request: WebhookRequest): RepoHookAnswer {
    const app = this.deps.apps.findByName(request.app);
    const source = app ? this.deps.sources.get(app.id) : undefined;
    if (!app || !source) throw new UnauthorizedError('no app with a repository URL has this webhook, or the signature is wrong');
    const verdict = verifyWebhook(request.headers, request.body, source.webhookSecret);
    if (!verdict.ok) throw new UnauthorizedError(verdict.reason);
    const event = parseWebhookEvent(verdict.provider, request.headers, request.body, request.contentType);
    if (event.kind === 'ping') return { result: 'pong', message: `${app.name} deploys the branch ${source.branch} of ${source.url} on push` };
    if (event.kind === 'other') return { result: 'ignored', message: `the event ${event.name} is not a push: nothing was deployed` };
    return this.act(app, source, decideWebhookPush(event, { name: app.name, branch: source.branch }));
  }

  /** Pilot is stopping: webhook deploys waiting are dropped and no new one starts (a push answers 503). */
  stop(): void {
    this.webhookDeploys.stop();
  }

  /** Resolves once the webhook deploys under way or waiting have ended (Pilot stopping, tests). */
  idle(): Promise<void> {
    return this.webhookDeploys.idle();
  }

  private act(app: App, source: RepoSource, decision: PushDecision): RepoHookAnswer {
    if (decision.action === 'ignore') return { result: 'ignored', message: decision.reason };
    if (decision.action === 'branch-deleted') {
      const what = decision.branch === source.branch ? `the branch ${app.name} deploys was deleted: the live release keeps serving` : `${decision.branch} was deleted: nothing to do`;
      return { result: 'ignored', message: what, branch: decision.branch };
    }
    const lines: string[] = [];
    const started = this.webhookDeploys.request(app.name, async () => {
      const current = this.deps.apps.findByName(app.name);
      if (!current || !this.deps.sources.get(current.id)) return;
      const live = await this.sync(current, (line) => lines.push(line));
      this.deps.logger.info({ app: app.name, live, output: lines.splice(0).join('\n') }, 'webhook deploy ended');
    });
    if (started === 'stopped') return { result: 'stopping', message: `Pilot is stopping: nothing was deployed; redeliver the push or run \`pilot git:sync -a ${app.name}\` once it is back` };
    const message = started === 'started'
      ? `fetching ${source.branch} and deploying its head`
      : `a deploy of ${app.name} is under way: the newest head of ${source.branch} deploys once it ends`;
    return { result: started === 'started' ? 'deploying' : 'queued', message, branch: decision.branch, sha: decision.sha };
  }

  /** Under the app's lock: the branch's head as it is now, recorded (or the failure), as a tree to deploy. */
  private async fetch(app: App, output: { step(text: string): void; detail(text: string): void }): Promise<PreparedSource> {
    const source = this.get(app);
    output.step(`Fetching ${source.branch} of ${source.url}${source.credential ? ' (with its credential)' : ''}`);
    try {
      const fetched = await this.deps.fetcher.fetchBranch({ url: source.url, branch: source.branch, credential: source.credential, maxBytes: this.deps.maxPushBytes });
      this.deps.sources.recordFetch(app.id, { sha: fetched.sha });
      output.detail(`${source.branch} is at ${fetched.sha.slice(0, 7)}`);
      return {
        source: {
          kind: 'tree',
          tar: fetched.tar,
          description: `${fetched.sha.slice(0, 7)} of ${source.url} (${source.branch})`,
          source: `repo ${source.url} ${fetched.sha}`,
          gitSha: fetched.sha,
          ...(fetched.submoduleManifest ? { submoduleManifest: fetched.submoduleManifest } : {}),
        },
        release: fetched.remove,
      };
    } catch (error) {
      this.deps.sources.recordFetch(app.id, { error: error instanceof PilotError ? error.message : 'internal error (the server log has the details)' });
      throw error;
    }
  }
}

/** Where the app's push webhook is, under the server's URL. */
export function hookPath(app: string): string {
  return `/api/v1/apps/${app}/hooks/push`;
}

function newSecret(): string {
  return randomBytes(32).toString('hex');
}

function viewOf(app: App, source: RepoSource): RepoSourceView {
  return {
    url: source.url,
    branch: source.branch,
    credential: source.credential !== null,
    lastSha: source.lastSha,
    lastFetchedAt: source.lastFetchedAt,
    lastError: source.lastError,
    webhookPath: hookPath(app.name),
  };
}
