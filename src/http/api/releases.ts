import type { FastifyPluginAsync } from 'fastify';
import { ConflictError, DeployError, NotFoundError } from '../../domain/errors.js';
import type { App, Release } from '../../domain/types.js';
import { configDescription, rollbackDescription } from '../../domain/release-descriptions.js';
import type { ImageReleaseResult } from '../../pipeline/deploy.js';
import { parseConfigChange, planConfigChange, type ConfigChange } from '../../services/config-vars.js';
import { appAccess, appFor, appParams, errorResponses, releaseView, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

const configSchema = {
  type: 'object',
  properties: {
    config: { type: 'object', additionalProperties: { type: 'string' } },
    buildKeys: { type: 'array', items: { type: 'string' }, description: 'Config vars builds see too (build vars); every var is a runtime var' },
    nextBuild: {
      type: 'array',
      items: { type: 'string' },
      description: 'Build vars this change touched: builds see them from the next push; the live image keeps what it was built with',
    },
    release: { anyOf: [{ $ref: 'Release#' }, { type: 'null' }] },
  },
  required: ['config', 'buildKeys'],
} as const;

/** Releases, rollback, config vars (each change is a release) and deploy status. */
export const releaseRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get<AppRoute>(
    '/apps/:app/releases',
    { config: appAccess, schema: { summary: 'List releases, newest first', params: appParams, response: { 200: { type: 'array', items: { $ref: 'Release#' } }, ...errorResponses } } },
    async (request) => deps.releases.list(appFor(deps, request).id).map(releaseView),
  );

  api.get<{ Params: { app: string; version: string } }>(
    '/apps/:app/releases/:version',
    {
      config: appAccess,
      schema: {
        summary: 'Show a release with its build and deploy log',
        params: { type: 'object', properties: { app: { type: 'string' }, version: { type: 'string', pattern: '^v?[0-9]{1,9}$' } }, required: ['app', 'version'] },
        response: { 200: { $ref: 'Release#' }, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const release = findRelease(deps, app, request.params.version);
      return { ...releaseView(release), log: deps.releases.log(release.id) };
    },
  );

  api.post<AppRoute & { Body: { version?: string | number } }>(
    '/apps/:app/rollback',
    {
      schema: {
        summary: "Roll back to a kept release: its image and config, blue/green, no rebuild (default: the one before the live one)",
        params: appParams,
        body: { type: 'object', nullable: true, properties: { version: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }, additionalProperties: false },
        response: { 200: { $ref: 'Release#' }, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const version = request.body?.version;
      const target = version !== undefined ? findRelease(deps, app, String(version)) : previousRelease(deps, app);
      const result = await deps.deployer.releaseFromImage({
        app,
        kind: 'rollback',
        from: target,
        config: target.config,
        buildKeys: target.buildKeys,
        description: rollbackDescription(target.version),
      });
      return liveOrFail(deps, result);
    },
  );

  api.get<AppRoute>('/apps/:app/config', { schema: { summary: 'Show config vars and which are build vars', params: appParams, response: { 200: configSchema, ...errorResponses } } }, async (request) => {
    const app = appFor(deps, request);
    return { config: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id) };
  });

  api.patch<AppRoute & { Body: ConfigChange }>(
    '/apps/:app/config',
    {
      schema: {
        summary:
          'Set and unset config vars at once, and choose which are build vars (builds see them too; "build": {"KEY": false} makes one runtime only again). ' +
          'A live app gets a new release when a runtime value changes, rolled out blue/green; build vars take effect at the next push (listed in nextBuild)',
        params: appParams,
        body: {
          type: 'object',
          properties: {
            set: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 200 },
            unset: { type: 'array', items: { type: 'string' }, maxItems: 200 },
            build: { type: 'object', additionalProperties: { type: 'boolean' }, maxProperties: 200 },
          },
          additionalProperties: false,
        },
        response: { 200: configSchema, ...errorResponses },
      },
      // Before the schema, which would coerce (null to "", 5 to "5"): a wrong type is a 400.
      preValidation: async (request) => {
        request.body = parseConfigChange(request.body);
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const planned = planConfigChange({ vars: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id) }, request.body);
      const live = deps.releases.live(app.id);
      if (!live || !planned.runtimeChanged) {
        // Nothing runs yet, or only build flags changed: the next deploy starts with these.
        deps.configVars.replace(app.id, planned.vars, planned.buildKeys);
        return { config: planned.vars, buildKeys: planned.buildKeys, nextBuild: planned.nextBuild, release: null };
      }
      const description = configDescription(Object.keys(request.body.set ?? {}), request.body.unset ?? []);
      const result = await deps.deployer.releaseFromImage({ app, kind: 'config', from: live, config: planned.vars, buildKeys: planned.buildKeys, description });
      const release = liveOrFail(deps, result);
      return { config: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id), nextBuild: planned.nextBuild, release };
    },
  );

  api.get<AppRoute>(
    '/apps/:app/deploy',
    {
      config: appAccess,
      schema: {
        summary: 'Deploy status: whether a deploy runs, and the latest release',
        params: appParams,
        response: { 200: { type: 'object', properties: { deploying: { type: 'boolean' }, latest: { anyOf: [{ $ref: 'Release#' }, { type: 'null' }] } } }, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const latest = deps.releases.list(app.id)[0];
      return { deploying: deps.deployer.isDeploying(app.name), latest: latest ? releaseView(latest) : null };
    },
  );
};

function findRelease(deps: ApiDeps, app: App, version: string): Release {
  const number = Number(version.replace(/^v/, ''));
  const release = Number.isInteger(number) ? deps.releases.byVersion(app.id, number) : undefined;
  if (!release) throw new NotFoundError(`${app.name} has no release ${version.startsWith('v') ? version : `v${version}`} (see \`pilot releases\`)`);
  return release;
}

/** The release that served before the live one. */
function previousRelease(deps: ApiDeps, app: App): Release {
  const live = deps.releases.live(app.id);
  if (!live) throw new ConflictError(`${app.name} has no live release to roll back from`);
  const previous = deps.releases.list(app.id).find((release) => release.version < live.version && release.status === 'retired');
  if (!previous) throw new ConflictError(`${app.name} has no earlier release that served: nothing to roll back to`);
  return previous;
}

/** A release that did not go live is a 422 whose message is the release's failure. */
function liveOrFail(deps: ApiDeps, result: ImageReleaseResult): Record<string, unknown> {
  if (!result.live) {
    const live = deps.releases.live(result.release.appId);
    throw new DeployError(
      'PILOT_RELEASE_FAILED',
      `v${result.release.version} failed: ${result.release.failureReason ?? 'unknown reason'}; ${live ? `v${live.version} is still serving` : 'nothing serves'}`,
    );
  }
  return releaseView(result.release);
}
