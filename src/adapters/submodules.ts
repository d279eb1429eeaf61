import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tarFs from 'tar-fs';
import type { Submodule, SubmoduleFetcher } from '../domain/ports.js';
import { DeployError, ValidationError } from '../domain/errors.js';
import { ByteLimit } from './byte-limit.js';
import { gitEnvironment } from './repo-fetch.js';

const run = promisify(execFile);

/** A fetch that has not finished after this long fails the push: an unreachable host must not hold the app's lock. */
export const SUBMODULE_FETCH_TIMEOUT_SECONDS = 300;

export interface SubmoduleFetcherOptions {
  readonly timeoutSeconds: number;
  /** CA bundle git trusts for the fetch (PILOT_SUBMODULE_CA_FILE, for tests against a local HTTPS server). */
  readonly caFile?: string;
}

/**
 * Fetches each submodule with the real git into a bare repository of its own next to the
 * build directory's `app/`, then unpacks `git archive` of the pinned commit into its path:
 * `git fetch --depth 1 URL SHA` downloads that one commit, nothing else.
 */
export function createSubmoduleFetcher(options: SubmoduleFetcherOptions): SubmoduleFetcher {
  return {
    async fetch(buildDir, submodule, maxTreeBytes) {
      refuseUnlessHttps(submodule);
      const appDir = path.join(buildDir, 'app');
      const target = await submoduleDir(appDir, submodule);
      const gitDir = await fsp.mkdtemp(path.join(buildDir, 'submodule-'));
      const timeout = AbortSignal.timeout(options.timeoutSeconds * 1000);
      const env = gitEnvironment(gitDir, options.caFile);
      try {
        await git(['init', '--quiet', '--bare', gitDir], env, timeout);
        await git(['-C', gitDir, 'fetch', '--quiet', '--depth', '1', '--no-tags', '--', submodule.url, submodule.sha], env, timeout).catch((error: unknown) => {
          throw fetchFailed(submodule, error, timeout, options.timeoutSeconds);
        });
        const budget = maxTreeBytes - (await treeBytes(appDir));
        await archiveInto(gitDir, submodule, target, budget, maxTreeBytes, env, timeout);
        const { stdout } = await git(['-C', gitDir, 'ls-tree', '-r', '-z', submodule.sha], env, timeout);
        return { nested: stdout.split('\0').filter((entry) => entry.startsWith('160000 ')).map((entry) => entry.slice(entry.indexOf('\t') + 1)) };
      } catch (error) {
        throw timeout.aborted && !(error instanceof DeployError) ? fetchFailed(submodule, error, timeout, options.timeoutSeconds) : error;
      } finally {
        await fsp.rm(gitDir, { recursive: true, force: true });
      }
    },
  };
}

/** Checked here too, before any git runs: a relative URL or a path would read this server's repositories. */
function refuseUnlessHttps(submodule: Submodule): void {
  let protocol: string | undefined;
  try {
    protocol = new URL(submodule.url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'https:') {
    throw new ValidationError(`submodule ${submodule.name} (${submodule.path}): Pilot fetches submodules only over https://; nothing was deployed`);
  }
}

function git(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  return run('git', args, { env, signal, maxBuffer: 64 * 1024 * 1024 });
}

/** The submodule's directory (git archive left it empty), which must lie inside the tree. */
async function submoduleDir(appDir: string, submodule: Submodule): Promise<string> {
  const target = path.join(appDir, submodule.path);
  await fsp.mkdir(target, { recursive: true });
  const root = await fsp.realpath(appDir);
  const real = await fsp.realpath(target);
  if (!real.startsWith(root + path.sep)) throw new ValidationError(`submodule ${submodule.name}: its path ${submodule.path} leads outside the repository; nothing was deployed`);
  return real;
}

async function archiveInto(
  gitDir: string, submodule: Submodule, target: string, budget: number, maxTreeBytes: number, env: NodeJS.ProcessEnv, signal: AbortSignal,
): Promise<void> {
  const tooLarge = () =>
    new ValidationError(
      `the push with its submodules is larger than ${Math.round(maxTreeBytes / 1024 / 1024)} MB (PILOT_MAX_PUSH_MB): ` +
        `submodule ${submodule.name} (${submodule.path}) does not fit; nothing was deployed`,
    );
  if (budget <= 0) throw tooLarge();
  const archive = spawn('git', ['-C', gitDir, 'archive', '--format=tar', submodule.sha], { env, signal, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  archive.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => archive.on('close', resolve));
  try {
    await pipeline(archive.stdout, new ByteLimit(budget, tooLarge), tarFs.extract(target, { readable: true, writable: true }) as unknown as NodeJS.WritableStream);
  } catch (error) {
    archive.kill();
    if (error instanceof ValidationError) throw error;
    const invalidLink = /^(.*) is not a valid symlink$/.exec((error as Error).message)?.[1];
    if (invalidLink) {
      throw new ValidationError(`submodule ${submodule.name}: the symlink ${path.relative(target, invalidLink)} points outside the submodule; nothing was deployed`);
    }
    throw new DeployError('PILOT_SUBMODULE_UNPACK_FAILED', `submodule ${submodule.name} (${submodule.path}) could not be unpacked: ${(error as Error).message}`);
  }
  const code = await exited;
  if (code !== 0) throw new DeployError('PILOT_SUBMODULE_UNPACK_FAILED', `submodule ${submodule.name} (${submodule.path}): git archive failed: ${stderr.trim()}`);
}

/** Bytes of the files under `dir` (symlinks count as links): what the push limit bounds. */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
    total += (await fsp.lstat(path.join(parent, entry.name))).size;
  }
  return total;
}

function fetchFailed(submodule: Submodule, error: unknown, timeout: AbortSignal, timeoutSeconds: number): DeployError {
  const where = `submodule ${submodule.name} (${submodule.path}) could not be fetched from ${maskCredentials(submodule.url)} at ${submodule.sha.slice(0, 7)}`;
  if (timeout.aborted) return new DeployError('PILOT_SUBMODULE_FETCH_FAILED', `${where}: no answer within ${timeoutSeconds} s`);
  const stderr = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
  const reason = maskCredentials(stderr).split('\n').filter((line) => line.trim() !== '').slice(-3).join('; ');
  return new DeployError(
    'PILOT_SUBMODULE_FETCH_FAILED',
    `${where}: git says: ${reason}\n` +
      'the repository must be readable over https without a password (or carry a token in its URL), and the pinned commit pushed there',
  );
}

function maskCredentials(text: string): string {
  return text.replace(/(https:\/\/)[^/@\s]*@/g, '$1***@');
}
