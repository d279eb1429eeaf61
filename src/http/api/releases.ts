import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import type { App, Release, ReleaseAuthor } from '../../domain/types.js';
import { configDescription, rollbackDescription } from '../../domain/release-descriptions.js';
import { parseConfigChange, planConfigChange } from '../../services/config-vars.js';
import { AppParams, ConfigChangeBody, ConfigView, DeployStatus, ReleaseParams, ReleaseView, RollbackBody } from '../../domain/shapes.js';
import { appAccess, appFor, authorOf, errorResponses, releaseView, type ApiDeps } from './context.js';

/** Releases, rollback, config vars (each change is a release) and deploy status. */
export const releaseRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/apps/:app/releases',
    { config: appAccess, schema: { summary: 'List releases, newest first', params: AppParams, response: { 200: Type.Array(ReleaseView), ...errorResponses } } },
    async (request) => deps.releases.list(appFor(deps, request).id).map(releaseView),
  );

  api.get(
    '/apps/:app/releases/:version',
    {
      config: appAccess,
      schema: {
        summary: 'Show a release with its build and deploy log',
        params: ReleaseParams,
        response: { 200: ReleaseView, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const release = findRelease(deps, app, request.params.version);
      return { ...releaseView(release), log: deps.releases.log(release.id) };
    },
  );

  api.post(
    '/apps/:app/rollback',
    {
      schema: {
        summary: "Roll back to a kept release: its image and config, blue/green, no rebuild (default: the one before the live one)",
        params: AppParams,
        body: RollbackBody,
        response: { 200: ReleaseView, ...errorResponses },
      },
    },
    async (request) => releaseView(await rollBack(deps, appFor(deps, request), request.body?.version, authorOf(request))),
  );

  api.get('/apps/:app/config', { schema: { summary: 'Show config vars and which are build vars', params: AppParams, response: { 200: ConfigView, ...errorResponses } } }, async (request) => {
    const app = appFor(deps, request);
    return { config: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id) };
  });

  api.patch(
    '/apps/:app/config',
    {
      schema: {
        summary:
          'Set and unset config vars at once, and choose which are build vars (builds see them too; "build": {"KEY": false} makes one runtime only again). ' +
          'A live app gets a new release when a runtime value changes, rolled out blue/green; build vars take effect at the next push (listed in nextBuild)',
        params: AppParams,
        body: ConfigChangeBody,
        response: { 200: ConfigView, ...errorResponses },
      },
      // Before the schema, for messages that say what a config var takes (`"set.A" must be a string, got null`).
      preValidation: async (request) => {
        parseConfigChange(request.body);
      },
    },
    async (request) => changeConfig(deps, appFor(deps, request), request.body, authorOf(request)),
  );

  api.get(
    '/apps/:app/deploy',
    {
      config: appAccess,
      schema: {
        summary: 'Deploy status: whether a deploy runs, and the latest release',
        params: AppParams,
        response: { 200: DeployStatus, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const latest = deps.releases.list(app.id)[0];
      return { deploying: deps.deployer.isDeploying(app.name), latest: latest ? releaseView(latest) : null };
    },
  );
};

/** Rolls back to `version` (default: the release that served before the live one): its image and config, no rebuild. */
export async function rollBack(deps: ApiDeps, app: App, version: number | string | undefined, madeBy: ReleaseAuthor): Promise<Release> {
  const target = version !== undefined ? findRelease(deps, app, String(version)) : previousRelease(deps, app);
  const release = await deps.deployer.changeApp(app, () => ({
    commit: () => undefined,
    release: { kind: 'rollback', from: target, config: target.config, buildKeys: target.buildKeys, description: rollbackDescription(target.version), madeBy },
  }));
  return release as Release;
}

/** Sets and unsets config vars: a live app gets a new release when a runtime value changes. */
export async function changeConfig(deps: ApiDeps, app: App, body: ConfigChangeBody, madeBy: ReleaseAuthor): Promise<ConfigView> {
  const change = { set: {}, unset: [], build: {}, ...body };
  let nextBuild: string[] = [];
  // Planned under the app's lock from the vars then, so concurrent changes never lose one.
  const release = await deps.deployer.changeApp(app, (live) => {
    const planned = planConfigChange({ vars: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id) }, change);
    nextBuild = [...planned.nextBuild];
    // Nothing runs yet, or only build flags changed: the next deploy starts with these.
    if (!live || !planned.runtimeChanged) return { commit: () => deps.configVars.replace(app.id, planned.vars, planned.buildKeys) };
    // The release's config becomes the app's as it goes live.
    const description = configDescription(Object.keys(body.set ?? {}), body.unset ?? []);
    return { commit: () => undefined, release: { kind: 'config', from: live, config: planned.vars, buildKeys: planned.buildKeys, description, madeBy } };
  });
  return { config: deps.configVars.get(app.id), buildKeys: deps.configVars.buildKeys(app.id), nextBuild, release: release ? releaseView(release) : null };
}

export function findRelease(deps: ApiDeps, app: App, version: string): Release {
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
