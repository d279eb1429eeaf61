import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Volume } from '../../domain/types.js';
import { AppParams, LimitsBody, LimitsView, ReleaseView, VolumeChange, VolumePath, VolumeView } from '../../domain/shapes.js';
import { appFor, authorOf, errorResponses, releaseView, type ApiDeps } from './context.js';

/** Persistent storage (named volumes in every container of the app) and resource limits. */
export const storageRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get('/apps/:app/limits', { schema: { summary: "The memory and CPU limits of the app's containers", params: AppParams, response: { 200: LimitsView, ...errorResponses } } }, async (request) => {
    return deps.limits.show(appFor(deps, request));
  });

  api.patch(
    '/apps/:app/limits',
    {
      schema: {
        summary: 'Set memory ("256m") and CPU (0.5) limits per container, null for the default, and the capabilities given back (capAdd: ["NET_RAW"]); a running app gets a new release with them',
        params: AppParams,
        body: LimitsBody,
        response: { 200: Type.Object({ limits: LimitsView, release: Type.Union([ReleaseView, Type.Null()]) }), ...errorResponses },
      },
    },
    async (request) => {
      const result = await deps.limits.set(appFor(deps, request), request.body, authorOf(request));
      return { limits: result.limits, release: result.release && releaseView(result.release) };
    },
  );

  const view = (volume: Volume): VolumeView => ({ path: volume.path, name: volume.name, createdAt: volume.createdAt });

  api.get('/apps/:app/storage', { schema: { summary: "List the app's volumes", params: AppParams, response: { 200: Type.Array(VolumeView), ...errorResponses } } }, async (request) => {
    return deps.storage.list(appFor(deps, request)).map(view);
  });

  api.post(
    '/apps/:app/storage',
    {
      schema: {
        summary: 'Mount a named volume at a path in every container of the app; a running app gets a new release with it',
        params: AppParams,
        body: VolumePath,
        response: { 201: VolumeChange, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await deps.storage.mount(appFor(deps, request), request.body.path, authorOf(request));
      return reply.status(201).send({ volume: view(result.volume), release: result.release && releaseView(result.release), ...(result.node === undefined ? {} : { node: result.node }) });
    },
  );

  api.delete(
    '/apps/:app/storage',
    {
      schema: {
        summary: 'Unmount the volume at ?path= (its files are kept); a running app gets a new release without it',
        params: AppParams,
        querystring: VolumePath,
        response: { 200: VolumeChange, ...errorResponses },
      },
    },
    async (request) => {
      const result = await deps.storage.unmount(appFor(deps, request), request.query.path, authorOf(request));
      return { volume: view(result.volume), release: result.release && releaseView(result.release) };
    },
  );
};
