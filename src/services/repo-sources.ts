import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppStore, RepoSourceStore, RepositoryFetcher } from '../domain/ports.js';
import type { App, ReleaseAuthor, RepoSource } from '../domain/types.js';
import { WEBHOOK_AUTHOR } from '../domain/release-authors.js';
import type { RepoHookAnswer, RepoSourceView, RepoWebhookView, SetRepoBody } from '../domain/shapes.js';
import { NotFoundError, PilotError, UnauthorizedError } from '../domain/errors.js';
import type { Deployer, PreparedSource } from '../pipeline/deploy.js';
import { DEFAULT_BRANCH, checkBranch, checkCredential, checkRepoUrl } from '../pipeline/repo-url.js';
import { decideWebhookPush, parseWebhookEvent, verifyWebhook, type PushDecision, type WebhookHeaders } from '../pipeline/push-webhooks.js';
import { CoalescedRuns } from './coalesced-runs.js';
import type { PreviewService } from './previews.js';

export interface RepoSourceDeps {
  readonly apps: Pick<AppStore, 'findByName' | 'renamedTo'>;
  readonly sources: RepoSourceStore;
  readonly fetcher: RepositoryFetcher;
  readonly deployer: Pick<Deployer, 'deployPrepared'>;
  readonly maxPushBytes: number;
  readonly logger: Logger;
  /** Pushes and deletions of other branches go to the app's previews, when it has them on. */
  readonly previews?: Pick<PreviewService, 'decide' | 'branchPushed' | 'branchDeleted' | 'list'>;
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
  sync(app: App, madeBy: ReleaseAuthor, write: (line: string) => void): Promise<boolean> {
    this.get(app);
    return this.deps.deployer.deployPrepared(app.name, madeBy, (locked, output) => this.fetch(locked, this.get(locked).branch, output), write);
  }

  /**
   * A push webhook. Anything unsigned, wrongly signed, or for an app without a repository is
   * the same 401, before the body is read as JSON: nothing is fetched, nothing told apart.
   */
  receiveWebhook(request: WebhookRequest): RepoHookAnswer {
    // A renamed app's hook keeps working at its old URL (the host's webhook settings still name it), its secret unchanged.
    const renamed = this.deps.apps.findByName(request.app) ? undefined : this.deps.apps.renamedTo(request.app);
    const app = this.deps.apps.findByName(renamed ?? request.app);
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
    if (decision.action === 'branch-deleted') return this.branchDeleted(app, source, decision.branch);
    if (decision.action === 'other-branch') return this.otherBranch(app, source, decision);
    return this.deployInTurn(app.name, `${source.branch}`, decision, async (write) => {
      const current = this.deps.apps.findByName(app.name);
      if (!current || !this.deps.sources.get(current.id)) return false;
      return this.sync(current, WEBHOOK_AUTHOR, write);
    });
  }

  /** A push to a branch the app does not deploy: its preview's, when the app's previews take that branch. */
  private otherBranch(app: App, source: RepoSource, decision: Extract<PushDecision, { action: 'other-branch' }>): RepoHookAnswer {
    const previews = this.deps.previews;
    const preview = previews?.decide(app, decision.branch, source.branch);
    if (!previews || !preview || preview.action === 'skip') return { result: 'ignored', message: decision.reason, branch: decision.branch };
    if (preview.action === 'refuse') return { result: 'ignored', message: `${preview.reason}: nothing was deployed`, branch: decision.branch };
    return this.deployInTurn(`${app.name} ${decision.branch}`, decision.branch, decision, async (write) => {
      const parent = this.deps.apps.findByName(app.name);
      if (!parent || !this.deps.sources.get(parent.id)) return false;
      return previews.branchPushed(parent, decision.branch, {
        deployBranch: this.get(parent).branch,
        deploy: (target, output) => this.deps.deployer.deployPrepared(target.name, WEBHOOK_AUTHOR, (_locked, steps) => this.fetch(parent, decision.branch, steps, false), output),
      }, write);
    });
  }

  private branchDeleted(app: App, source: RepoSource, branch: string): RepoHookAnswer {
    if (branch === source.branch) return { result: 'ignored', message: `the branch ${app.name} deploys was deleted: the live release keeps serving`, branch };
    const previews = this.deps.previews;
    const preview = previews?.list(app).previews.find((candidate) => candidate.branch === branch);
    if (!previews || !preview) return { result: 'ignored', message: `${branch} was deleted: nothing to do`, branch };
    return this.deployInTurn(`${app.name} ${branch}`, branch, { sha: null }, (write) => previews.branchDeleted(app, branch, write), `destroying the preview ${preview.app} of ${branch}`);
  }

  /** Runs `work` after the one under way for `key` (coalesced: one waiting at most), logging its output. */
  private deployInTurn(key: string, branch: string, decision: { readonly sha: string | null }, work: (write: (line: string) => void) => Promise<boolean>, doing?: string): RepoHookAnswer {
    const lines: string[] = [];
    const started = this.webhookDeploys.request(key, async () => {
      // The last lines say how it ended; a noisy build must not grow the heap or one log line.
      const live = await work((line) => {
        lines.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
        if (lines.length > WEBHOOK_OUTPUT_LINES_KEPT) lines.shift();
      });
      this.deps.logger.info({ app: key, live, output: lines.splice(0).join('\n') }, 'webhook deploy ended');
    });
    const app = key.split(' ')[0];
    if (started === 'stopped') return { result: 'stopping', message: `Pilot is stopping: nothing was deployed; redeliver the push or run \`pilot git:sync -a ${app}\` once it is back` };
    const message = started === 'started'
      ? (doing ?? `fetching ${branch} and deploying its head`)
      : `a deploy of ${app} (${branch}) is under way: the newest head of ${branch} deploys once it ends`;
    return { result: started === 'started' ? 'deploying' : 'queued', message, branch, sha: decision.sha };
  }

  /**
   * Under the deploying app's lock: `branch` of `app`'s repository as it is now, as a tree to
   * deploy; the fetch (or its failure) is recorded when it is the app's own branch.
   */
  private async fetch(app: App, branch: string, output: { step(text: string): void; detail(text: string): void }, record = true): Promise<PreparedSource> {
    const source = this.get(app);
    output.step(`Fetching ${branch} of ${source.url}${source.credential ? ' (with its credential)' : ''}`);
    try {
      const fetched = await this.deps.fetcher.fetchBranch({ url: source.url, branch, credential: source.credential, maxBytes: this.deps.maxPushBytes });
      if (record) this.deps.sources.recordFetch(app.id, { sha: fetched.sha });
      output.detail(`${branch} is at ${fetched.sha.slice(0, 7)}`);
      return {
        source: {
          kind: 'tree',
          tar: fetched.tar,
          description: `${fetched.sha.slice(0, 7)} of ${source.url} (${branch})`,
          source: `repo ${source.url} ${fetched.sha}`,
          gitSha: fetched.sha,
          ...(fetched.submoduleManifest ? { submoduleManifest: fetched.submoduleManifest } : {}),
        },
        release: fetched.remove,
      };
    } catch (error) {
      if (record) this.deps.sources.recordFetch(app.id, { error: error instanceof PilotError ? error.message : 'internal error (the server log has the details)' });
      throw error;
    }
  }
}

/** How many of a webhook deploy's last output lines the server log keeps. */
const WEBHOOK_OUTPUT_LINES_KEPT = 200;

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
