/**
 * A real git server over HTTPS for tests: `git http-backend` run as CGI behind node's https
 * server, with a self-signed certificate made by openssl for 127.0.0.1. Serves every bare
 * repository under `root` at https://127.0.0.1:<port>/<name>.git.
 */
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { execFileSync, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { tempDir } from './integration.js';

export interface HttpsGitServer {
  readonly root: string;
  /** The certificate to trust (GIT_SSL_CAINFO). */
  readonly caFile: string;
  readonly baseUrl: string;
  /** Creates a bare repository `<name>.git` holding `files` in one commit on main; resolves with that commit. */
  createRepository(name: string, files: Record<string, string>): string;
  /** Commits `files` (written over the branch's tree) to `branch` of `<name>.git` (a new branch starts from main); resolves with the commit. */
  commit(name: string, files: Record<string, string>, branch?: string): string;
  /** The Authorization header of every request so far (undefined: none). */
  readonly authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export interface HttpsGitServerOptions {
  /** Every request must carry this Basic auth, else 401 (a private repository). */
  readonly auth?: { readonly user: string; readonly password: string };
}

export async function startHttpsGitServer(options: HttpsGitServerOptions = {}): Promise<HttpsGitServer> {
  const dir = tempDir('https-git');
  const root = path.join(dir, 'repos');
  fs.mkdirSync(root);
  const keyFile = path.join(dir, 'key.pem');
  const caFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', caFile,
  ], { stdio: 'ignore' });

  const authorizations: (string | undefined)[] = [];
  const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}` : undefined;
  const server = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(caFile) }, (request, response) => {
    authorizations.push(request.headers.authorization);
    if (expected !== undefined && request.headers.authorization !== expected) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end('authentication required');
      return;
    }
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        REQUEST_METHOD: request.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: request.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(request.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: request.socket.remoteAddress ?? '',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    request.pipe(backend.stdin);
    answerFromCgi(backend.stdout, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    root,
    caFile,
    baseUrl,
    createRepository(name, files) {
      const work = tempDir(`repo-${name}`);
      const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: gitAuthorEnv(), encoding: 'utf8' }).trim();
      git('init', '--quiet', '--initial-branch=main');
      for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
        fs.writeFileSync(path.join(work, file), content);
      }
      git('add', '-A');
      git('commit', '--quiet', '-m', 'submodule content');
      git('clone', '--quiet', '--bare', work, path.join(root, `${name}.git`));
      return git('rev-parse', 'HEAD');
    },
    commit(name, files, branch = 'main') {
      const work = tempDir(`commit-${name}`);
      const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: gitAuthorEnv(), encoding: 'utf8' }).trim();
      git('clone', '--quiet', path.join(root, `${name}.git`), '.');
      if (git('branch', '--list', '-r', `origin/${branch}`) === '') git('checkout', '--quiet', '-b', branch);
      else git('checkout', '--quiet', branch);
      for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
        fs.writeFileSync(path.join(work, file), content);
      }
      git('add', '-A');
      git('commit', '--quiet', '-m', `change ${Object.keys(files).join(', ')}`);
      git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
      return git('rev-parse', 'HEAD');
    },
    authorizations,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** CGI output: headers (with `Status:`) up to a blank line, then the body, streamed. */
function answerFromCgi(output: NodeJS.ReadableStream, response: import('node:http').ServerResponse): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    output.removeListener('data', onData);
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else response.setHeader(name, value);
    }
    response.writeHead(status);
    response.write(head.subarray(end + 4));
    output.pipe(response);
  };
  output.on('data', onData);
  output.on('end', () => {
    if (!response.headersSent) response.writeHead(502).end();
  });
}

export function gitAuthorEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: tempDir('git-author-home'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Pilot Test',
    GIT_AUTHOR_EMAIL: 'test@pilot.invalid',
    GIT_COMMITTER_NAME: 'Pilot Test',
    GIT_COMMITTER_EMAIL: 'test@pilot.invalid',
  };
}
