/**
 * Fetches the head of a branch of an app's repository URL with the real git: a shallow fetch
 * of that one branch into a bare repository of its own, bounded in time and in bytes (the
 * push size limit), without prompts, config of the user or system, or credential helpers.
 * A credential goes to git in its environment as an Authorization header scoped to the URL
 * (`http.<origin>/.extraHeader` through GIT_CONFIG_*): never in argv, on disk or in a message.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { FetchedTree, RepositoryFetcher } from '../domain/ports.js';
import { DeployError } from '../domain/errors.js';
import { checkBranch, checkRepoUrl } from '../pipeline/repo-url.js';

const run = promisify(execFile);

/** A fetch that has not finished after this long fails: an unreachable host must not hold the app's deploys. */
export const REPO_FETCH_TIMEOUT_SECONDS = 300;
/** How often the fetched repository's size is measured against the limit. */
const SIZE_CHECK_MS = 250;
/** The user name sent with a bare token: GitHub, GitLab, Gitea and Forgejo take a token as the password of any user. */
const TOKEN_USER = 'x-access-token';

export interface RepositoryFetcherOptions {
  /** Where fetched repositories are made (the data dir's builds/), each removed after its deploy. */
  readonly workDir: string;
  readonly timeoutSeconds: number;
  /** PILOT_REPO_CA_FILE: a CA bundle git trusts besides the system's (a git server with its own CA). */
  readonly caFile?: string;
}

export function createRepositoryFetcher(options: RepositoryFetcherOptions): RepositoryFetcher {
  return {
    async fetchBranch({ url, branch, credential, maxBytes }) {
      checkRepoUrl(url);
      checkBranch(branch);
      await fsp.mkdir(options.workDir, { recursive: true, mode: 0o700 });
      const gitDir = await fsp.mkdtemp(path.join(options.workDir, 'repo-'));
      let tar: PassThrough | undefined;
      // The archive may still be running (its reader gave up, or never read): it stops, quietly, before its repository goes.
      const remove = () => {
        tar?.destroy();
        return fsp.rm(gitDir, { recursive: true, force: true });
      };
      const env = gitEnvironment(gitDir, options.caFile, credential === null ? undefined : { url, credential });
      const failed = (reason: string) => new DeployError('PILOT_REPO_FETCH_FAILED', `cannot fetch ${branch} of ${url}: ${reason}`);
      try {
        await git(['init', '--quiet', '--bare', gitDir], env);
        await fetchWithin(gitDir, ['fetch', '--quiet', '--depth', '1', '--no-tags', '--no-recurse-submodules', '--', url, `+refs/heads/${branch}:refs/heads/${branch}`], env, {
          timeoutSeconds: options.timeoutSeconds,
          maxBytes,
          failed: (stderr) => failed(explainGitError(stderr, { url, branch, credential: credential !== null })),
          timedOut: () => failed(`no answer within ${options.timeoutSeconds} s`),
          tooLarge: () => failed(`the branch's head is larger than ${Math.round(maxBytes / 1024 / 1024)} MB (PILOT_MAX_PUSH_MB), even fetched shallow: nothing was deployed`),
        });
        const sha = (await git(['-C', gitDir, 'rev-parse', '--verify', `refs/heads/${branch}^{commit}`], env)).stdout.trim();
        const submoduleManifest = await manifestOf(gitDir, sha, env);
        tar = archiveOf(gitDir, sha, env);
        return { sha, tar, ...(submoduleManifest ? { submoduleManifest } : {}), remove } satisfies FetchedTree;
      } catch (error) {
        await remove();
        throw error;
      }
    },
  };
}

/**
 * No user or system config, no credential helper, no prompt, https only; the proxy settings
 * pass so a server behind a proxy still fetches. The credential, when there is one, is a
 * header git sends to the URL's host only (not to another host a redirect leads to). Also the
 * environment of submodule fetches (adapters/submodules.ts), which carry no credential.
 */
export function gitEnvironment(home: string, caFile: string | undefined, auth?: { readonly url: string; readonly credential: string }): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    ['PATH', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'].filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]),
  );
  // Scoped to the origin: a redirect within the host (a renamed repository) keeps it, one to another host does not.
  const header = auth === undefined
    ? {}
    : { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${new URL(auth.url).origin}/.extraHeader`, GIT_CONFIG_VALUE_0: `Authorization: Basic ${basicAuth(auth.credential)}` };
  return {
    ...inherited,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: 'https',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    ...(caFile ? { GIT_SSL_CAINFO: caFile } : {}),
    ...header,
  };
}

/** `token` or `user:token`, as Basic auth. */
function basicAuth(credential: string): string {
  const pair = credential.includes(':') ? credential : `${TOKEN_USER}:${credential}`;
  return Buffer.from(pair, 'utf8').toString('base64');
}

function git(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return run('git', args, { env, maxBuffer: 64 * 1024 * 1024 });
}

interface FetchBounds {
  readonly timeoutSeconds: number;
  readonly maxBytes: number;
  failed(stderr: string): Error;
  timedOut(): Error;
  tooLarge(): Error;
}

/** Runs the fetch, stopping it past the time or once the repository outgrows maxBytes. */
async function fetchWithin(gitDir: string, args: string[], env: NodeJS.ProcessEnv, bounds: FetchBounds): Promise<void> {
  const child = spawn('git', ['-C', gitDir, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
  });
  let stopped: Error | undefined;
  const stop = (reason: Error) => {
    stopped ??= reason;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => stop(bounds.timedOut()), bounds.timeoutSeconds * 1000);
  let measuring = false;
  const sizer = setInterval(() => {
    if (measuring) return;
    measuring = true;
    void directoryBytes(gitDir).then((bytes) => {
      measuring = false;
      if (bytes > bounds.maxBytes) stop(bounds.tooLarge());
    }, () => (measuring = false));
  }, SIZE_CHECK_MS);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (stopped) throw stopped;
    if (code !== 0) throw bounds.failed(stderr);
    if ((await directoryBytes(gitDir)) > bounds.maxBytes) throw bounds.tooLarge();
  } finally {
    clearTimeout(timer);
    clearInterval(sizer);
  }
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
    total += (await fsp.lstat(path.join(parent, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** What went wrong, in words that say what to do; git's own last lines otherwise. */
export function explainGitError(stderr: string, request: { url: string; branch: string; credential: boolean }): string {
  let host = request.url;
  try {
    host = new URL(request.url).host;
  } catch {
    // The URL was checked before: keep it whole.
  }
  const credentialHint = 'give one with `pilot apps:repo:set URL --credential-stdin` (a token that may read the repository)';
  if (/could not resolve host/i.test(stderr)) return `cannot resolve the host ${host}: check the URL`;
  if (/failed to connect|couldn't connect|connection refused|connection timed out/i.test(stderr)) return `cannot connect to ${host}`;
  if (/ssl certificate problem|certificate verification failed|unable to get local issuer/i.test(stderr)) return `the TLS certificate of ${host} is not trusted (a server with its own CA: set PILOT_REPO_CA_FILE)`;
  if (/couldn't find remote ref/i.test(stderr)) return `there is no branch ${request.branch} in the repository: check the branch (\`pilot apps:repo:set URL --branch B\`)`;
  if (/authentication failed|could not read (username|password)|terminal prompts disabled|\b40[13]\b/i.test(stderr)) {
    return request.credential
      ? `${host} refused the credential (wrong, expired, or without read access to the repository): set a valid one with \`pilot apps:repo:set URL --credential-stdin\``
      : `${host} asks for a credential: the repository is private or does not exist; ${credentialHint}`;
  }
  if (/not found|\b404\b|does not appear to be a git repository/i.test(stderr)) {
    return `there is no repository at ${request.url}${request.credential ? '' : ' (a private one needs a credential)'}: check the URL`;
  }
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return `git says: ${lines.slice(-3).join('; ') || 'nothing'}`;
}

/** The commit's gitlinks and .gitmodules as the pre-receive hook sends them (hooks/pre-receive.mjs), when it has gitlinks. */
async function manifestOf(gitDir: string, sha: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { stdout } = await git(['-C', gitDir, 'ls-tree', '-r', '-z', sha], env);
  const gitlinks = stdout.split('\0').filter((entry) => entry.startsWith('160000 '));
  if (gitlinks.length === 0) return undefined;
  const gitmodules = await git(['-C', gitDir, 'config', '--blob', `${sha}:.gitmodules`, '-z', '--list'], env).then(({ stdout: list }) => list, () => '');
  return Buffer.from(JSON.stringify({ gitlinks, gitmodules })).toString('base64');
}

/** `git archive` of the commit; the stream fails when git does. */
function archiveOf(gitDir: string, sha: string, env: NodeJS.ProcessEnv): PassThrough {
  const output = new PassThrough();
  const archive = spawn('git', ['-C', gitDir, 'archive', '--format=tar', sha], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  archive.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  archive.stdout.pipe(output, { end: false });
  archive.on('error', (error) => output.destroy(error));
  archive.on('close', (code) => {
    // Destroyed by its reader or by remove(): nobody waits for the rest, and an error now would have no listener.
    if (output.destroyed) return;
    if (code === 0) output.end();
    else output.destroy(new DeployError('PILOT_REPO_FETCH_FAILED', `git archive of ${sha.slice(0, 7)} failed: ${stderr.trim()}`));
  });
  // The deploy stops reading (the push is too large): git stops too.
  output.on('close', () => archive.kill());
  return output;
}
