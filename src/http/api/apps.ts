import type { FastifyPluginAsync } from 'fastify';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { validateHostname } from '../../services/validation.js';
import { appAccess, appFor, appParams, errorResponses, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

/** Apps and their custom domains. */
export const appRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get('/apps', { schema: { summary: 'List apps with their status', response: { 200: { type: 'array', items: { $ref: 'AppStatus#' } }, ...errorResponses } } }, async () => {
    return deps.apps.list();
  });

  api.post<{ Body: { name: string } }>(
    '/apps',
    {
      schema: {
        summary: 'Create an app (a push to a new name does it too)',
        body: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } }, required: ['name'], additionalProperties: false },
        response: { 201: { $ref: 'AppStatus#' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = await deps.apps.create(request.body.name);
      return reply.status(201).send(await deps.apps.status(app));
    },
  );

  api.get<AppRoute>('/apps/:app', { config: appAccess, schema: { summary: 'Show an app and its status', params: appParams, response: { 200: { $ref: 'AppStatus#' }, ...errorResponses } } }, async (request) =>
    deps.apps.status(appFor(deps, request)),
  );

  api.patch<AppRoute & { Body: { buildDir: string | null } }>(
    '/apps/:app',
    {
      schema: {
        summary: "Change an app's settings: buildDir, its directory in the repository (null: the root), used from the next push",
        params: appParams,
        body: {
          type: 'object',
          properties: { buildDir: { type: ['string', 'null'], maxLength: 300 } },
          required: ['buildDir'],
          additionalProperties: false,
        },
        response: { 200: { $ref: 'AppStatus#' }, ...errorResponses },
      },
    },
    async (request) => {
      return deps.apps.status(deps.apps.setBuildDir(appFor(deps, request), request.body.buildDir));
    },
  );

  api.delete<AppRoute & { Querystring: { confirm?: string; volumes?: boolean } }>(
    '/apps/:app',
    {
      schema: {
        summary: 'Destroy an app: containers, images, repository, routes and records; its volumes only with ?volumes=true',
        params: appParams,
        querystring: { type: 'object', properties: { confirm: { type: 'string' }, volumes: { type: 'boolean', default: false } } },
        response: {
          200: {
            type: 'object',
            properties: { destroyed: { type: 'string' }, containers: { type: 'integer' }, images: { type: 'integer' }, volumes: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      if (request.query.confirm !== app.name) {
        throw new ValidationError(`destroying ${app.name} cannot be undone: repeat its name in ?confirm=${app.name}`);
      }
      return { destroyed: app.name, ...(await deps.apps.destroy(app, { volumes: request.query.volumes === true })) };
    },
  );

  const linkList = {
    type: 'object',
    properties: { links: { type: 'array', items: { type: 'string' } }, linkedFrom: { type: 'array', items: { type: 'string' } } },
    required: ['links', 'linkedFrom'],
  } as const;

  // Links cross the isolation of apps: admin-only (no access declared).
  api.get<AppRoute>(
    '/apps/:app/links',
    { schema: { summary: 'The apps whose network this app joins (links) and those joining its own (linkedFrom)', params: appParams, response: { 200: linkList, ...errorResponses } } },
    async (request) => deps.links.list(appFor(deps, request)),
  );

  api.post<AppRoute & { Body: { app: string } }>(
    '/apps/:app/links',
    {
      schema: {
        summary: "Link the app to another: its containers join the other app's network and reach its web processes at http://<other>:PORT",
        params: appParams,
        body: { type: 'object', properties: { app: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['app'], additionalProperties: false },
        response: { 200: linkList, ...errorResponses },
      },
    },
    async (request) => deps.links.link(appFor(deps, request), request.body.app),
  );

  api.delete<{ Params: { app: string; other: string } }>(
    '/apps/:app/links/:other',
    {
      schema: {
        summary: "Unlink: the app's containers leave the other app's network",
        params: { type: 'object', properties: { app: { type: 'string' }, other: { type: 'string', maxLength: 64 } }, required: ['app', 'other'] },
        response: { 200: linkList, ...errorResponses },
      },
    },
    async (request) => deps.links.unlink(appFor(deps, request), request.params.other),
  );

  const domainList = { type: 'object', properties: { domains: { type: 'array', items: { type: 'string' } } }, required: ['domains'] } as const;

  api.get<AppRoute>('/apps/:app/domains', { schema: { summary: "List an app's custom domains", params: appParams, response: { 200: domainList, ...errorResponses } } }, async (request) => {
    return { domains: deps.domains.listForApp(appFor(deps, request).id) };
  });

  api.post<AppRoute & { Body: { domain: string } }>(
    '/apps/:app/domains',
    {
      schema: {
        summary: 'Add a custom domain; the route changes at once',
        params: appParams,
        body: { type: 'object', properties: { domain: { type: 'string', maxLength: 300 } }, required: ['domain'], additionalProperties: false },
        response: { 201: domainList, ...errorResponses },
      },
    },
    async (request, reply) => {
      const app = appFor(deps, request);
      const hostname = validateHostname(request.body.domain);
      if (hostname === deps.domain || hostname.endsWith(`.${deps.domain}`)) {
        throw new ValidationError(`${hostname} is under PILOT_DOMAIN (${deps.domain}), whose names Pilot gives itself; add a domain of your own`);
      }
      const owner = deps.domains.owner(hostname);
      if (owner !== undefined) throw new ConflictError(`${hostname} is already a domain of ${owner === app.id ? app.name : 'another app'}`);
      deps.domains.add(app.id, hostname);
      await reloadOrUndo(deps, () => deps.domains.remove(app.id, hostname));
      return reply.status(201).send({ domains: deps.domains.listForApp(app.id) });
    },
  );

  api.delete<{ Params: { app: string; domain: string } }>(
    '/apps/:app/domains/:domain',
    {
      schema: {
        summary: 'Remove a custom domain',
        params: { type: 'object', properties: { app: { type: 'string' }, domain: { type: 'string' } }, required: ['app', 'domain'] },
        response: { 200: domainList, ...errorResponses },
      },
    },
    async (request) => {
      const app = appFor(deps, request);
      const hostname = request.params.domain.toLowerCase();
      if (!deps.domains.remove(app.id, hostname)) throw new NotFoundError(`${hostname} is not a domain of ${app.name}`);
      await reloadOrUndo(deps, () => deps.domains.add(app.id, hostname));
      return { domains: deps.domains.listForApp(app.id) };
    },
  );
};

/** Loads the routes; if Caddy refuses them, undoes the change so the database matches what serves. */
async function reloadOrUndo(deps: ApiDeps, undo: () => unknown): Promise<void> {
  try {
    await deps.routes.reload();
  } catch (error) {
    undo();
    throw error;
  }
}
