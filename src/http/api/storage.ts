import type { FastifyPluginAsync } from 'fastify';
import type { Volume } from '../../domain/types.js';
import { appFor, appParams, errorResponses, releaseView, type ApiDeps } from './context.js';

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

const limitsSchema = {
  type: 'object',
  properties: {
    memoryBytes: { type: 'integer' },
    cpus: { type: 'number' },
    custom: { type: 'object', properties: { memory: { type: 'boolean' }, cpus: { type: 'boolean' } } },
    capAdd: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** Persistent storage (named volumes in every container of the app) and resource limits. */
export const storageRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get<AppRoute>('/apps/:app/limits', { schema: { summary: "The memory and CPU limits of the app's containers", params: appParams, response: { 200: limitsSchema, ...errorResponses } } }, async (request) => {
    return deps.limits.show(appFor(deps, request));
  });

  api.patch<AppRoute & { Body: { memory?: string | null; cpus?: number | null; capAdd?: string[] | null } }>(
    '/apps/:app/limits',
    {
      schema: {
        summary: 'Set memory ("256m") and CPU (0.5) limits per container, null for the default, and the capabilities given back (capAdd: ["NET_RAW"]); a running app gets a new release with them',
        params: appParams,
        body: {
          type: 'object',
          properties: {
            memory: { type: 'string', nullable: true, maxLength: 20 },
            cpus: { type: 'number', nullable: true },
            capAdd: { type: 'array', nullable: true, maxItems: 20, items: { type: 'string', maxLength: 40 } },
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: {
          200: { type: 'object', properties: { limits: limitsSchema, release: { anyOf: [{ $ref: 'Release#' }, { type: 'null' }] } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const result = await deps.limits.set(appFor(deps, request), request.body);
      return { limits: result.limits, release: result.release && releaseView(result.release) };
    },
  );

  const view = (volume: Volume) => ({ path: volume.path, name: volume.name, createdAt: volume.createdAt });

  api.get<AppRoute>('/apps/:app/storage', { schema: { summary: "List the app's volumes", params: appParams, response: { 200: volumeList, ...errorResponses } } }, async (request) => {
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
      const result = await deps.storage.unmount(appFor(deps, request), request.query.path);
      return { volume: view(result.volume), release: result.release && releaseView(result.release) };
    },
  );
};
