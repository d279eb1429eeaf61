import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { JoinCommandQuery, JoinCommandView, NodeParams, NodeView } from '../../domain/shapes.js';
import { errorResponses, type ApiDeps } from './context.js';

/** The cluster's machines (PILOT_SCHEDULER=swarm; 409 otherwise). Admin only. */
export const nodeRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (api, { deps }) => {
  api.get(
    '/nodes',
    { schema: { summary: "The cluster's nodes: role, state, availability, address, labels, running tasks", response: { 200: Type.Array(NodeView), ...errorResponses } } },
    async () => deps.nodes.list(),
  );

  api.get(
    '/nodes/join-command',
    {
      schema: {
        summary: 'The `docker swarm join` line that adds a machine to the cluster as a worker (or a manager, ?role=manager)',
        querystring: JoinCommandQuery,
        response: { 200: JoinCommandView, ...errorResponses },
      },
    },
    async (request) => {
      const command = await deps.nodes.joinCommand(request.query.role);
      const install = deps.nodes.installCommand(command);
      return { role: request.query.role, command, ...(install ? { install } : {}) };
    },
  );

  for (const [action, availability] of [['drain', 'drain'], ['activate', 'active']] as const) {
    api.post(
      `/nodes/:node/${action}`,
      {
        schema: {
          summary: action === 'drain' ? 'Move the tasks off the node (by hostname or id) and give it no new ones' : 'Let the node (by hostname or id) take tasks again',
          params: NodeParams,
          response: { 200: NodeView, ...errorResponses },
        },
      },
      async (request) => deps.nodes.setAvailability(request.params.node, availability),
    );
  }
};
