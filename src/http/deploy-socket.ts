import fs from 'node:fs';
import http from 'node:http';
import type { Logger } from 'pino';
import type { PushRequest } from '../pipeline/deploy.js';
import type { BranchPushes } from '../services/preview-pushes.js';
import { UNKNOWN_PUSHER } from '../domain/release-authors.js';
import type { Pushers } from './pushers.js';

/** The line that ends every answer, read by hooks/pre-receive.mjs (never shown to the pusher). */
export const RESULT_MARKER = '\u0000PILOT-RESULT ';

export interface PushDeployer {
  deployPush(push: PushRequest, write: (line: string) => void): Promise<boolean>;
}

interface Targets {
  readonly deployer: PushDeployer;
  readonly branches: BranchPushes | undefined;
  readonly pushers: Pushers | undefined;
}

const SHA = /^[0-9a-f]{40}$/;
/** Header of the push's submodules (pipeline/submodules.ts reads it); the hook keeps it under 256 KB. */
export const SUBMODULES_HEADER = 'x-pilot-submodules';
const MAX_HEADER_BYTES = 320 * 1024;

/**
 * The internal deploy endpoint: the pre-receive hook POSTs `git archive` here and streams
 * back the answer. It listens only on a unix socket of mode 0600, never on a TCP port.
 */
export async function listenForDeploys(socketPath: string, deployer: PushDeployer, logger: Logger, branches?: BranchPushes, pushers?: Pushers): Promise<http.Server> {
  const server = http.createServer({ requestTimeout: 0, maxHeaderSize: MAX_HEADER_BYTES }, (request, response) => {
    void handle(request, response, { deployer, branches, pushers }, logger);
  });
  // A socket file left by a killed Pilot would make listen fail with EADDRINUSE.
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
  return server;
}

/**
 * `POST /deploy`: the push of the deploy branch. For other branches (preview apps):
 * `GET /branch` judges a push before its archive is sent (`with`: the push's branches judged before), `POST /preview` deploys it,
 * `POST /delete` tells of a deleted branch.
 */
async function handle(request: http.IncomingMessage, response: http.ServerResponse, targets: Targets, logger: Logger): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://pilot.invalid');
  const { branches } = targets;
  const param = (name: string): string => url.searchParams.get(name) ?? '';
  const push = {
    app: param('app'),
    branch: param('branch'),
    oldSha: param('old'),
    newSha: param('new'),
    submoduleManifest: singleHeader(request.headers[SUBMODULES_HEADER]),
  };
  const madeBy = targets.pushers?.find(push.app, { ref: `refs/heads/${push.branch}`, oldSha: push.oldSha, newSha: push.newSha }) ?? UNKNOWN_PUSHER;
  if (request.method === 'GET' && url.pathname === '/branch' && branches && push.branch !== '' && param('deploy') !== '') {
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(branches.judge(push.app, push.branch, param('deploy'), url.searchParams.getAll('with'))));
    return;
  }
  const run = request.method === 'POST' ? action(url.pathname, param('deploy'), { ...push, source: request, madeBy }, targets) : undefined;
  if (!run) {
    response.writeHead(400, { 'Content-Type': 'text/plain' }).end(` !     malformed deploy request\n${RESULT_MARKER}failed\n`);
    return;
  }
  response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  const write = (line: string): void => {
    if (!response.writableEnded) response.write(`${line}\n`);
  };
  let ok = false;
  try {
    ok = await run(write);
  } catch (error) {
    logger.error({ err: error, app: push.app, branch: push.branch }, 'deploy crashed');
    write(' !     internal error while deploying: the server log has the details');
  }
  // Unread input (a refused push) must not keep the hook waiting.
  request.resume();
  response.end(`${RESULT_MARKER}${ok ? 'ok' : 'failed'}\n`);
}

/** What a POST asks for, or undefined when it is malformed. */
function action(pathname: string, deployBranch: string, push: PushRequest, targets: Targets): ((write: (line: string) => void) => Promise<boolean>) | undefined {
  const { deployer, branches } = targets;
  if (push.branch === '') return undefined;
  const shas = SHA.test(push.newSha) && SHA.test(push.oldSha);
  if (pathname === '/deploy' && shas) return (write) => deployer.deployPush(push, write);
  if (!branches) return undefined;
  if (pathname === '/preview' && shas && deployBranch !== '') return (write) => branches.pushed(push, deployBranch, write);
  if (pathname === '/delete') return (write) => branches.deleted(push.app, push.branch, write);
  return undefined;
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
