/**
 * Git submodules of a push: `git archive` leaves their directories empty, so the pre-receive
 * hook sends the pushed commit's gitlinks and `.gitmodules`, and this module decides which
 * submodules Pilot fetches (https only) and refuses the push for the others. The plan is
 * pure; fetchSubmodules is the stage that has the SubmoduleFetcher port fetch it.
 */
import { ValidationError } from '../domain/errors.js';
import type { Submodule, SubmoduleFetcher } from '../domain/ports.js';
import type { DeployOutput } from './output.js';

/** What the hook sends when the pushed tree has gitlinks (hooks/pre-receive.mjs). */
export interface SubmoduleManifest {
  /** `git ls-tree -r -z` entries of mode 160000: `160000 commit <sha>\t<path>`. */
  readonly gitlinks: readonly string[];
  /** `git config --blob <sha>:.gitmodules -z --list`; empty when the tree has no .gitmodules. */
  readonly gitmodules: string;
}

/** Bounds of what a push may ask for: the header that carries it is bounded too. */
export const MAX_SUBMODULES = 100;
const MAX_URL_LENGTH = 2048;
const MAX_PATH_LENGTH = 1024;
const GITLINK = /^160000 commit ([0-9a-f]{40})\t(.+)$/s;
const VENDOR_HINT = 'or vendor the code into the repository (remove the submodule and commit its files)';

/** The hook's header (base64 of JSON) → a manifest; anything else is refused. */
export function parseSubmoduleManifest(header: string): SubmoduleManifest {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw new ValidationError('the submodule list sent by the git hook is not valid JSON: nothing was deployed');
  }
  const { gitlinks, gitmodules } = (value ?? {}) as Record<string, unknown>;
  if (!Array.isArray(gitlinks) || !gitlinks.every((entry) => typeof entry === 'string') || typeof gitmodules !== 'string') {
    throw new ValidationError('the submodule list sent by the git hook is malformed: nothing was deployed');
  }
  if (gitlinks.length > MAX_SUBMODULES) {
    throw new ValidationError(`the push has ${gitlinks.length} submodules: Pilot fetches at most ${MAX_SUBMODULES}; ${VENDOR_HINT}`);
  }
  return { gitlinks, gitmodules };
}

/** Gitlinks (path → pinned commit) from `git ls-tree -r -z` entries of mode 160000. */
export function parseGitlinks(entries: readonly string[]): Map<string, string> {
  const links = new Map<string, string>();
  for (const entry of entries) {
    const match = GITLINK.exec(entry);
    if (!match) throw new ValidationError(`the git hook sent a gitlink Pilot cannot read (${JSON.stringify(entry.slice(0, 120))}): nothing was deployed`);
    links.set(match[2] as string, match[1] as string);
  }
  return links;
}

export interface GitmodulesEntry {
  readonly name: string;
  readonly path?: string;
  readonly url?: string;
}

/**
 * `.gitmodules` entries from `git config -z --list` (`key\nvalue\0` records). A submodule's
 * name may hold dots: it is everything between `submodule.` and the last dot.
 */
export function parseGitmodules(list: string): GitmodulesEntry[] {
  const entries = new Map<string, { name: string; path?: string; url?: string }>();
  for (const record of list.split('\0')) {
    if (record === '') continue;
    const newline = record.indexOf('\n');
    const key = newline < 0 ? record : record.slice(0, newline);
    const value = newline < 0 ? '' : record.slice(newline + 1);
    if (!key.startsWith('submodule.')) continue;
    const lastDot = key.lastIndexOf('.');
    if (lastDot <= 'submodule.'.length) continue;
    const name = key.slice('submodule.'.length, lastDot);
    const variable = key.slice(lastDot + 1);
    if (variable !== 'path' && variable !== 'url') continue;
    const entry = entries.get(name) ?? { name };
    entry[variable] = value;
    entries.set(name, entry);
  }
  return [...entries.values()];
}

/**
 * The submodules to fetch, one per gitlink, each with its `.gitmodules` URL. Refuses the push,
 * naming every submodule at fault and what to do, when one cannot be fetched safely: no URL, or
 * a URL other than https:// (relative, SSH, file://, a local path could read other
 * repositories on this server). Nested submodules are not fetched: only this tree's gitlinks.
 */
export function submodulePlan(manifest: SubmoduleManifest): Submodule[] {
  const gitlinks = parseGitlinks(manifest.gitlinks);
  const byPath = new Map(parseGitmodules(manifest.gitmodules).filter((entry) => entry.path !== undefined).map((entry) => [entry.path as string, entry]));
  const submodules: Submodule[] = [];
  const problems: string[] = [];
  for (const [path, sha] of [...gitlinks].sort(([a], [b]) => a.localeCompare(b))) {
    const pathProblem = unsafePath(path);
    if (pathProblem) {
      problems.push(`submodule at ${JSON.stringify(path)}: ${pathProblem}`);
      continue;
    }
    const entry = byPath.get(path);
    const url = entry?.url?.trim();
    if (!entry || !url) {
      problems.push(
        `submodule ${path} (commit ${sha.slice(0, 7)}) has no URL in .gitmodules: ` +
          `add one with \`git submodule add https://HOST/OWNER/REPO.git ${path}\`, ${VENDOR_HINT}`,
      );
      continue;
    }
    const urlProblem = unsafeUrl(url);
    if (urlProblem) {
      problems.push(
        `submodule ${entry.name} (${path}) has the URL ${JSON.stringify(displayUrl(url))}: ${urlProblem}; ` +
          `use an https:// URL (\`git submodule set-url ${path} https://HOST/OWNER/REPO.git\`), ${VENDOR_HINT}`,
      );
      continue;
    }
    submodules.push({ name: entry.name, path, sha, url });
  }
  if (problems.length > 0) throw new ValidationError(`${problems.join('\n')}\nnothing was deployed`);
  return submodules;
}

/**
 * The submodules a push asks for (none without the hook's header: a push without submodules
 * pays nothing); refuses the push before anything is unpacked when one is not fetchable.
 */
export function pushSubmodules(manifestHeader: string | undefined): Submodule[] {
  return manifestHeader === undefined ? [] : submodulePlan(parseSubmoduleManifest(manifestHeader));
}

/** Fills each submodule's directory of the unpacked tree; any failure fails the push. */
export async function fetchSubmodules(
  fetcher: SubmoduleFetcher, buildDir: string, submodules: readonly Submodule[], maxTreeBytes: number, output: DeployOutput,
): Promise<void> {
  if (submodules.length === 0) return;
  output.step(`Fetching ${submodules.length} submodule${submodules.length === 1 ? '' : 's'} over https`);
  for (const submodule of submodules) {
    output.detail(`${submodule.path}: ${displayUrl(submodule.url)} at ${submodule.sha.slice(0, 7)}`);
    const { nested } = await fetcher.fetch(buildDir, submodule, maxTreeBytes);
    if (nested.length > 0) {
      output.detail(`${submodule.path} has submodules of its own (${nested.join(', ')}): Pilot does not fetch nested submodules, their directories stay empty`);
    }
  }
}

/** A URL as it may be shown: the password or token of `https://user:token@host` masked. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

function unsafeUrl(url: string): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  if (/[\s\0]/.test(url)) return 'it holds spaces or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.startsWith('.') || url.startsWith('/')
      ? 'Pilot does not fetch relative URLs or local paths (they would read repositories on the Pilot server)'
      : 'Pilot fetches submodules only over https://, not SSH or local paths';
  }
  if (parsed.protocol !== 'https:') return `Pilot fetches submodules only over https://, not ${parsed.protocol.slice(0, -1)}`;
  if (parsed.hostname === '') return 'it names no host';
  return undefined;
}

function unsafePath(path: string): string | undefined {
  if (path.length > MAX_PATH_LENGTH) return `the path is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/') || path.includes('\0') || path.includes('\\')) return 'the path is not a plain relative path';
  const parts = path.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.toLowerCase() === '.git')) {
    return 'the path holds an empty, ".", ".." or ".git" part';
  }
  return undefined;
}
