import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenStore } from '../../domain/ports.js';
import type { AppRegistry } from '../../services/app-registry.js';
import { NotFoundError, PilotError, UnauthorizedError } from '../../domain/errors.js';
import { authenticate, requireAppAccess, tokenFromRequest, type Principal } from '../auth.js';
import { tokenAuthor } from '../../domain/release-authors.js';
import type { Pushers } from '../pushers.js';
import { peekFetchWants, peekPushedRefs, refusalReport } from './git-commands.js';
import { PushTooLarge, ownedBody, spoolPush } from './push-body.js';

export interface GitRouteOptions {
  readonly tokens: TokenStore;
  readonly registry: AppRegistry;
  readonly git: { handle(request: IncomingMessage, response: ServerResponse): void };
  /** PILOT_MAX_PUSH_MB in bytes: the most a push may send. */
  readonly maxPushBytes: number;
  /** Where a push waits, counted, before git reads it. */
  readonly spoolDir: string;
  /** Who pushes what, for the deploy the hook asks for. */
  readonly pushers: Pushers;
}

type GitService = 'git-upload-pack' | 'git-receive-pack';
type GitRoute = { Params: { repo: string }; Querystring: { service?: string } };
type GitRequest = FastifyRequest<GitRoute>;

const GIT_BODY_TYPES = ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'];

/**
 * Smart HTTP for `<app>.git`. Pilot authenticates every git request itself: node-git-server
 * only checks credentials on info/refs, and would accept a raw POST without any.
 */
export const gitRoutes: FastifyPluginAsync<GitRouteOptions> = async (app, options) => {
  // Leave git's bodies unread: node-git-server streams them to git itself.
  app.addContentTypeParser(GIT_BODY_TYPES, (_request, _payload, done) => done(null));

  const serve = async (request: GitRequest, reply: FastifyReply, service: GitService | undefined): Promise<void> => {
    const repo = request.params.repo;
    if (!repo.endsWith('.git') || service === undefined) {
      return reply.status(404).send({ error: 'PILOT_NOT_FOUND', message: 'not a git repository URL: use /<app>.git' });
    }
    const name = repo.slice(0, -'.git'.length);
    let principal: Principal;
    try {
      principal = authenticate(options.tokens, tokenFromRequest(request));
      // A deploy token may not create apps: check access before the first push creates one.
      if (principal.scope !== 'admin') requireAppAccess(principal, options.registry.find(name)?.id, name);
      const app = service === 'git-receive-pack' && request.method === 'GET'
        ? await options.registry.findOrCreate(name)
        : options.registry.find(name);
      if (!app) throw new NotFoundError(`no app named "${name}": push to it first to create it`);
      requireAppAccess(principal, app.id, name);
    } catch (error) {
      return refuse(request, reply, service, error);
    }
    if (service === 'git-receive-pack' && request.method === 'POST') {
      // node-git-server never answers a push to a ref outside refs/heads and refs/tags: it would hang.
      // git never compresses push bodies; a compressed one would slip past the checks below.
      const encoding = request.headers['content-encoding'];
      if (encoding && encoding !== 'identity') {
        return reply.status(415).type('text/plain').send('pushes are accepted uncompressed only\n');
      }
      const commands = await peekPushedRefs(request.raw);
      if (!commands) return reply.status(400).type('text/plain').send('the push does not start with a complete command list\n');
      const odd = commands.refs.filter((ref) => !/^refs\/(heads|tags)\//.test(ref));
      if (odd.length > 0) {
        // The pack that follows is read and dropped: nothing is stored.
        request.raw.resume();
        const message = `only branches and tags can be pushed, not ${odd.join(', ')}`;
        return reply.status(200).type('application/x-git-receive-pack-result').send(refusalReport(commands, message, 'only branches and tags'));
      }
      let spooled: IncomingMessage;
      try {
        spooled = await spoolPush(request.raw, options.maxPushBytes, options.spoolDir);
      } catch (error) {
        if (!(error instanceof PushTooLarge)) throw error;
        const message = `${error.message} (PILOT_MAX_PUSH_MB): nothing was stored`;
        return reply.status(200).type('application/x-git-receive-pack-result').send(refusalReport(commands, message, 'push too large'));
      }
      reply.hijack();
      // Until git answered: the hook asks for its deploy meanwhile.
      reply.raw.once('close', options.pushers.begin(name, commands.updates, tokenAuthor(principal)));
      options.git.handle(spooled, reply.raw);
      return;
    }
    if (service === 'git-upload-pack' && request.method === 'POST' && !(await peekFetchWants(request.raw))) {
      return reply.status(400).type('text/plain').send('a fetch must start with a "want" line: nothing was asked for\n');
    }
    reply.hijack();
    options.git.handle(ownedBody(request.raw), reply.raw);
  };

  app.get<GitRoute>('/:repo/info/refs', (request, reply) =>
    serve(request, reply, parseService(request.query.service)),
  );
  app.post<GitRoute>('/:repo/git-upload-pack', (request, reply) => serve(request, reply, 'git-upload-pack'));
  app.post<GitRoute>('/:repo/git-receive-pack', (request, reply) => serve(request, reply, 'git-receive-pack'));
};

function parseService(service: string | undefined): GitService | undefined {
  return service === 'git-upload-pack' || service === 'git-receive-pack' ? service : undefined;
}

/**
 * 401 asks git for credentials. Other refusals of info/refs are sent as an `ERR` packet,
 * which git prints as "remote error: <message>" instead of a bare status code.
 */
function refuse(request: GitRequest, reply: FastifyReply, service: GitService, error: unknown): FastifyReply {
  if (!(error instanceof PilotError)) throw error;
  if (error instanceof UnauthorizedError) {
    return reply
      .status(401)
      .header('WWW-Authenticate', 'Basic realm="Pilot"')
      .send({ error: error.code, message: error.message });
  }
  if (request.method === 'GET') {
    const body = pktLine(`# service=${service}\n`) + '0000' + pktLine(`ERR ${error.message}\n`);
    return reply.status(200).header('Content-Type', `application/x-${service}-advertisement`).header('Cache-Control', 'no-cache').send(body);
  }
  return reply.status(error.statusCode).send({ error: error.code, message: error.message });
}

function pktLine(text: string): string {
  const length = Buffer.byteLength(text) + 4;
  return length.toString(16).padStart(4, '0') + text;
}
