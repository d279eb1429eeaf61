// Brings the OpenAPI fields (summary...) into Fastify's route schema type.
import type {} from '@fastify/swagger';
import type { FastifyRequest } from 'fastify';
import type { ConfigStore, DomainStore, ReleaseStore, TokenStore } from '../../domain/ports.js';
import type { App, Release } from '../../domain/types.js';
import type { AppService } from '../../services/apps.js';
import type { ProcessControl } from '../../services/processes.js';
import type { LogService } from '../../services/logs.js';
import type { TokenService } from '../../services/tokens.js';
import type { StorageService } from '../../services/storage.js';
import type { LimitsService } from '../../services/limits.js';
import type { LinkService } from '../../services/links.js';
import type { OneOffCommands } from '../../services/one-off.js';
import type { CronScheduler } from '../../services/cron.js';
import type { Deployer } from '../../pipeline/deploy.js';
import type { RouteTable } from '../../pipeline/switch.js';
import type { Principal } from '../auth.js';

/** What the REST API works with; built once in server.ts. */
export interface ApiDeps {
  readonly tokenStore: TokenStore;
  readonly tokens: TokenService;
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
  /** PILOT_DOMAIN: `<app>.<domain>` and `pilot.<domain>` are not custom domains. */
  readonly domain: string;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route without authentication');
  return request.principal;
}

/** The app named in the URL; the API's hook already refused a token that may not see it. */
export function appFor(deps: ApiDeps, request: FastifyRequest<{ Params: { app: string } }>): App {
  return deps.apps.get(request.params.app);
}

/** The route option of a route that a deploy token of the app in its `:app` may call too. */
export const appAccess = { access: 'app' } as const;

/** A release as the API shows it: config values stay out (they may be secrets), keys are listed. */
export function releaseView(release: Release): Record<string, unknown> {
  return {
    version: release.version,
    kind: release.kind,
    status: release.status,
    gitSha: release.gitSha,
    buildpack: release.buildpack,
    image: release.image,
    configKeys: Object.keys(release.config).sort(),
    buildKeys: release.buildKeys,
    failureReason: release.failureReason,
    createdAt: release.createdAt,
    updatedAt: release.updatedAt,
  };
}

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

export const releaseSchema = {
  $id: 'Release',
  type: 'object',
  properties: {
    version: { type: 'integer' },
    kind: { type: 'string', enum: ['deploy', 'config', 'rollback'] },
    status: { type: 'string' },
    gitSha: { type: ['string', 'null'] },
    buildpack: { type: ['string', 'null'] },
    image: { type: ['string', 'null'] },
    configKeys: { type: 'array', items: { type: 'string' } },
    buildKeys: { type: 'array', items: { type: 'string' }, description: 'The build vars the build of the image was given (a Dockerfile build passes only those it declares as ARG)' },
    failureReason: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    log: { type: 'string' },
  },
  required: ['version', 'kind', 'status'],
} as const;

export const appStatusSchema = {
  $id: 'AppStatus',
  type: 'object',
  properties: {
    name: { type: 'string' },
    createdAt: { type: 'string' },
    url: { type: 'string' },
    domains: { type: 'array', items: { type: 'string' } },
    deploying: { type: 'boolean' },
    release: {
      type: ['object', 'null'],
      properties: { version: { type: 'integer' }, kind: { type: 'string' }, gitSha: { type: ['string', 'null'] }, createdAt: { type: 'string' } },
    },
    state: { type: ['string', 'null'] },
    buildDir: { type: ['string', 'null'] },
  },
  required: ['name', 'url', 'domains', 'deploying', 'release', 'state', 'buildDir'],
} as const;

export const appParams = {
  type: 'object',
  properties: { app: { type: 'string', maxLength: 64 } },
  required: ['app'],
} as const;

/** Error responses every authenticated route may give. */
export const errorResponses = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  403: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
  409: { $ref: 'Error#' },
  422: { $ref: 'Error#' },
  429: { $ref: 'Error#' },
} as const;
