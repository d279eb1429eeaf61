// Brings the OpenAPI fields (summary...) into Fastify's route schema type.
import type {} from '@fastify/swagger';
import type { FastifyRequest } from 'fastify';
import type { ConfigStore, DomainStore, ReleaseStore, TokenStore } from '../../domain/ports.js';
import type { App, Release, ReleaseAuthor } from '../../domain/types.js';
import { tokenAuthor } from '../../domain/release-authors.js';
import { ErrorShape, type ReleaseView } from '../../domain/shapes.js';
import type { AppService } from '../../services/apps.js';
import type { ProcessControl } from '../../services/processes.js';
import type { LogService } from '../../services/logs.js';
import type { TokenService } from '../../services/tokens.js';
import type { StorageService } from '../../services/storage.js';
import type { LimitsService } from '../../services/limits.js';
import type { CertificateService } from '../../services/certificates.js';
import type { LinkService } from '../../services/links.js';
import type { OneOffCommands } from '../../services/one-off.js';
import type { CronScheduler } from '../../services/cron.js';
import type { MetricsSampler } from '../../services/metrics.js';
import type { PrometheusExporter } from '../../adapters/prometheus.js';
import type { Events } from '../../services/events.js';
import type { Notifier } from '../../services/notifier.js';
import type { PreviewService } from '../../services/previews.js';
import type { NodeService } from '../../services/nodes.js';
import type { RepoSources } from '../../services/repo-sources.js';
import type { Deployer } from '../../pipeline/deploy.js';
import type { RouteTable } from '../../pipeline/switch.js';
import type { Principal } from '../auth.js';
import type { TokenSessions } from '../token-sessions.js';
import type { WebSocket } from 'ws';

/** What the REST API works with; built once in server.ts. */
export interface ApiDeps {
  readonly tokenStore: TokenStore;
  readonly tokens: TokenService;
  /** The WebSockets each token holds open: closed when it is revoked. */
  readonly sessions: TokenSessions;
  readonly apps: AppService;
  readonly releases: ReleaseStore;
  readonly configVars: ConfigStore;
  readonly domains: DomainStore;
  readonly deployer: Deployer;
  readonly routes: RouteTable;
  readonly processes: ProcessControl;
  readonly logs: LogService;
  readonly storage: StorageService;
  readonly limits: LimitsService;
  readonly links: LinkService;
  readonly oneOff: OneOffCommands;
  readonly cron: CronScheduler;
  readonly certificates: CertificateService;
  readonly metrics: Pick<MetricsSampler, 'host' | 'processes'>;
  readonly prometheus: Pick<PrometheusExporter, 'text' | 'contentType'>;
  readonly events: Pick<Events, 'list' | 'follow' | 'followAfter' | 'newestId'>;
  readonly webhooks: Pick<Notifier, 'add' | 'list' | 'remove'>;
  readonly previews: PreviewService;
  /** The cluster's machines (swarm mode; refuses every call otherwise). */
  readonly nodes: NodeService;
  /** Apps deployed from a repository URL, and their push webhooks. */
  readonly repoSources: RepoSources;
  /** PILOT_DOMAIN: `<app>.<domain>` and `pilot.<domain>` are not custom domains. */
  readonly domain: string;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route without authentication');
  return request.principal;
}

/** Who a release the request makes is by: its token. */
export function authorOf(request: FastifyRequest): ReleaseAuthor {
  return tokenAuthor(principalOf(request));
}

/** Closes the socket when the request's token is revoked (1008: policy violation). */
export function closeOnRevocation(deps: ApiDeps, request: FastifyRequest, socket: WebSocket): void {
  const release = deps.sessions.hold(principalOf(request).tokenId, () => socket.close(1008, 'the token was revoked'));
  socket.on('close', release);
}

/** The app named in the URL; the API's hook already refused a token that may not see it. */
export function appFor(deps: ApiDeps, request: { readonly params: { readonly app: string } }): App {
  return deps.apps.get(request.params.app);
}

/** The route option of a route that a deploy token of the app in its `:app` may call too. */
export const appAccess = { access: 'app' } as const;

/** A release as the API shows it: config values stay out (they may be secrets), keys are listed. */
export function releaseView(release: Release): ReleaseView {
  return {
    version: release.version,
    kind: release.kind,
    status: release.status,
    gitSha: release.gitSha,
    source: release.source,
    buildpack: release.buildpack,
    image: release.image,
    configKeys: Object.keys(release.config).sort(),
    buildKeys: [...release.buildKeys],
    failureReason: release.failureReason,
    description: release.description,
    madeBy: release.madeBy,
    createdAt: release.createdAt,
    updatedAt: release.updatedAt,
  };
}

/** Error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorShape,
  401: ErrorShape,
  403: ErrorShape,
  404: ErrorShape,
  409: ErrorShape,
  422: ErrorShape,
  429: ErrorShape,
} as const;
