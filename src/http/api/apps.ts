import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { AddDomainBody, AppParams, AppSettingsBody, AppStatus, CertificateList, CreateAppBody, DestroyQuery, DestroyedApp, DomainList, DomainParams, LinkBody, LinkList, LinkParams, MaintenanceBody, RenameAppBody } from '../../domain/shapes.js';
import { validateHostname } from '../../services/validation.js';
import { serializedOnce } from '../serialized-once.js';
import type { App } from '../../domain/types.js';
import { appAccess, appFor, errorResponses, type ApiDeps } from './context.js';

/** Apps and their custom domains. */
export const appRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  // Polled by the CLI and dashboards: serialized once per change of the list, with an ETag.
  const sendList = serializedOnce();
  api.get(
    '/apps',
    { schema: { summary: 'List apps with their status (with an ETag: If-None-Match gets a 304 while nothing changed)', response: { 200: Type.Array(AppStatus), 304: Type.Null({ description: 'Not modified: the list is still the one of the ETag in If-None-Match' }), ...errorResponses } } },
    async (request, reply) => sendList(request, reply, deps.apps.list()),
  );

  api.post(
    '/apps',
    {
      schema: {
        summary: 'Create an app (a push to a new name does it too); with `repo`, one that deploys from a repository URL (POST .../repo/sync deploys it)',
        body: CreateAppBody,
        response: { 201: AppStatus, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, repo } = request.body;
      // Checked before the app exists: a refused URL creates nothing.
      if (repo) deps.repoSources.check(repo);
      const app = await deps.apps.create(name);
      if (repo) deps.repoSources.set(app, repo);
      return reply.status(201).send(await deps.apps.status(app));
    },
  );

  api.get('/apps/:app', { config: appAccess, schema: { summary: 'Show an app and its status', params: AppParams, response: { 200: AppStatus, ...errorResponses } } }, async (request) =>
    deps.apps.status(appFor(deps, request)),
  );

  api.patch(
    '/apps/:app',
    {
      schema: {
        summary: "Change an app's settings: buildDir, its directory in the repository (null: the root), used from the next push; watchSeconds, how long a new release is watched for an automatic rollback",
        params: AppParams,
        body: AppSettingsBody,
        response: { 200: AppStatus, ...errorResponses },
      },
    },
    async (request) => {
      return deps.apps.status(deps.apps.changeSettings(appFor(deps, request), request.body));
    },
  );

  api.post(
    '/apps/:app/rename',
    {
      schema: {
        summary: "Rename an app: its processes start again under the new name (blue/green), its URL and git remote move to the new name; config, releases, domains, tokens, volumes, links, cron and webhooks stay",
        params: AppParams,
        body: RenameAppBody,
        response: { 200: AppStatus, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      return deps.apps.status(await deps.apps.rename(app, request.body.name, (line) => request.log.info({ app: app.name }, line)));
    },
  );

  api.post(
    '/apps/:app/maintenance',
    {
      schema: {
        summary: 'Maintenance mode on or off: visitors get a 503 page with Retry-After (served by Caddy) while the app keeps running',
        params: AppParams,
        body: MaintenanceBody,
        response: { 200: AppStatus, ...errorResponses },
      },
    },
    async (request) => deps.apps.setMaintenance(appFor(deps, request), request.body.enabled),
  );

  api.delete(
    '/apps/:app',
    {
      schema: {
        summary: 'Destroy an app: containers, images, repository, routes and records; its volumes only with ?volumes=true',
        params: AppParams,
        querystring: DestroyQuery,
        response: { 200: DestroyedApp, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      if (request.query.confirm !== app.name) {
        throw new ValidationError(`destroying ${app.name} cannot be undone: repeat its name in ?confirm=${app.name}`);
      }
      return { destroyed: app.name, ...(await deps.apps.destroy(app, { volumes: request.query.volumes })) };
    },
  );

  api.get(
    '/apps/:app/certs',
    {
      config: appAccess,
      schema: {
        summary: 'The certificate each host of the app is served with (as a visitor gets it from Caddy), with what to do when there is none',
        params: AppParams,
        response: { 200: CertificateList, ...errorResponses },
      },
    },
    async (request) => ({ certificates: await deps.certificates.list(appFor(deps, request)) }),
  );

  // Links cross the isolation of apps: admin-only (no access declared).
  api.get(
    '/apps/:app/links',
    { schema: { summary: 'The apps whose network this app joins (links) and those joining its own (linkedFrom)', params: AppParams, response: { 200: LinkList, ...errorResponses } } },
    async (request) => deps.links.list(appFor(deps, request)),
  );

  api.post(
    '/apps/:app/links',
    {
      schema: {
        summary: "Link the app to another: its containers join the other app's network and reach its web processes at http://<other>:PORT",
        params: AppParams,
        body: LinkBody,
        response: { 200: LinkList, ...errorResponses },
      },
    },
    async (request) => deps.links.link(appFor(deps, request), request.body.app),
  );

  api.delete(
    '/apps/:app/links/:other',
    {
      schema: {
        summary: "Unlink: the app's containers leave the other app's network",
        params: LinkParams,
        response: { 200: LinkList, ...errorResponses },
      },
    },
    async (request) => deps.links.unlink(appFor(deps, request), request.params.other),
  );


  api.get('/apps/:app/domains', { schema: { summary: "List an app's custom domains", params: AppParams, response: { 200: DomainList, ...errorResponses } } }, async (request) => {
    return { domains: deps.domains.listForApp(appFor(deps, request).id) };
  });

  api.post(
    '/apps/:app/domains',
    {
      schema: {
        summary: 'Add a custom domain; the route changes at once',
        params: AppParams,
        body: AddDomainBody,
        response: { 201: DomainList, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send({ domains: await addDomain(deps, appFor(deps, request), request.body.domain) }),
  );

  api.delete(
    '/apps/:app/domains/:domain',
    {
      schema: {
        summary: 'Remove a custom domain',
        params: DomainParams,
        response: { 200: DomainList, ...errorResponses },
      },
    },
    async (request) => ({ domains: await removeDomain(deps, appFor(deps, request), request.params.domain) }),
  );
};

/** Adds a custom domain and loads the routes; returns the app's domains. */
export async function addDomain(deps: ApiDeps, app: App, domain: string): Promise<string[]> {
  const hostname = validateHostname(domain);
  if (hostname === deps.domain || hostname.endsWith(`.${deps.domain}`)) {
    throw new ValidationError(`${hostname} is under PILOT_DOMAIN (${deps.domain}), whose names Pilot gives itself; add a domain of your own`);
  }
  const owner = deps.domains.owner(hostname);
  if (owner !== undefined) throw new ConflictError(`${hostname} is already a domain of ${owner === app.id ? app.name : 'another app'}`);
  deps.domains.add(app.id, hostname);
  await reloadOrUndo(deps, () => deps.domains.remove(app.id, hostname));
  return deps.domains.listForApp(app.id);
}

/** Removes a custom domain and loads the routes; returns the app's domains. */
export async function removeDomain(deps: ApiDeps, app: App, domain: string): Promise<string[]> {
  const hostname = domain.toLowerCase();
  if (!deps.domains.remove(app.id, hostname)) throw new NotFoundError(`${hostname} is not a domain of ${app.name}`);
  await reloadOrUndo(deps, () => deps.domains.add(app.id, hostname));
  return deps.domains.listForApp(app.id);
}

/** Loads the routes; if Caddy refuses them, undoes the change so the database matches what serves. */
async function reloadOrUndo(deps: ApiDeps, undo: () => unknown): Promise<void> {
  try {
    await deps.routes.reload();
  } catch (error) {
    undo();
    throw error;
  }
}
