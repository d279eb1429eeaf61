import type { FastifyPluginAsync } from 'fastify';
import type { Volume } from '../../domain/types.js';
import { appFor, appParams, errorResponses, releaseView, requireAdmin, type ApiDeps } from './context.js';

type AppRoute = { Params: { app: string } };

const volumeList = {
  type: 'array',
  items: { type: 'object', properties: { path: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' } } },
} as const;

const changeSchema = {
  type: 'object',
  properties: {
    volume: { type: 'object', properties: { path: { type: 'string' }, name: { type: 'string' } } },
    release: { anyOf: [{ $ref: 'Release#' }, { type: 'null' }] },
  },
} as const;

const pathBody = { type: 'object', properties: { path: { type: 'string', maxLength: 256 } }, required: ['path'], additionalProperties: false } as const;

/** Persistent storage: named volumes mounted in every container of the app. */
export const storageRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  const view = (volume: Volume) => ({ path: volume.path, name: volume.name, createdAt: volume.createdAt });

  api.get<AppRoute>('/apps/:app/storage', { schema: { summary: "List the app's volumes", params: appParams, response: { 200: volumeList, ...errorResponses } } }, async (request) => {
    requireAdmin(request);
    return deps.storage.list(appFor(deps, request)).map(view);
  });

  api.post<AppRoute & { Body: { path: string } }>(
    '/apps/:app/storage',
    {
      schema: {
        summary: 'Mount a named volume at a path in every container of the app; a running app gets a new release with it',
        params: appParams,
        body: pathBody,
        response: { 201: changeSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const result = await deps.storage.mount(appFor(deps, request), request.body.path);
      return reply.status(201).send({ volume: view(result.volume), release: result.release && releaseView(result.release) });
    },
  );

  api.delete<AppRoute & { Querystring: { path: string } }>(
    '/apps/:app/storage',
    {
      schema: {
        summary: 'Unmount the volume at ?path= (its files are kept); a running app gets a new release without it',
        params: appParams,
        querystring: pathBody,
        response: { 200: changeSchema, ...errorResponses },
      },
    },
    async (request) => {
      requireAdmin(request);
      const result = await deps.storage.unmount(appFor(deps, request), request.query.path);
      return { volume: view(result.volume), release: result.release && releaseView(result.release) };
    },
  );
};
