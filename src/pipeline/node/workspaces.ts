import path from 'node:path/posix';
import { parse as parseYaml } from 'yaml';
import { DeployError } from '../../domain/errors.js';

/**
 * A workspace glob (`packages/*`, `apps/**`) as npm, Yarn and pnpm write them: `*` and `?` stay
 * inside one path segment, `**` spans any number of them; a leading `!` excludes.
 */
export function globToRegExp(glob: string): RegExp {
  const normalized = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  let source = '';
  for (let i = 0; i < normalized.length; i += 1) {
    const char = normalized[i] as string;
    if (normalized.startsWith('**/', i)) {
      source += '(?:[^/]+/)*';
      i += 2;
    } else if (normalized.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The directories (relative to `root`) holding a package.json that the globs select. */
export function matchWorkspaces(globs: readonly string[], root: string, files: ReadonlySet<string>): string[] {
  const include = globs.filter((glob) => !glob.startsWith('!')).map(globToRegExp);
  const exclude = globs.filter((glob) => glob.startsWith('!')).map((glob) => globToRegExp(glob.slice(1)));
  const prefix = root === '' ? '' : `${root}/`;
  const matched: string[] = [];
  for (const file of files) {
    if (!file.startsWith(prefix) || path.basename(file) !== 'package.json') continue;
    const dir = path.dirname(file.slice(prefix.length));
    if (dir === '.') continue;
    if (include.some((glob) => glob.test(dir)) && !exclude.some((glob) => glob.test(dir))) matched.push(dir);
  }
  return matched.sort();
}

/** package.json `workspaces` (an array, or Yarn's `{ packages: [...] }`). */
export function packageJsonWorkspaceGlobs(workspaces: unknown): string[] {
  if (workspaces === undefined) return [];
  const list = Array.isArray(workspaces) || typeof workspaces !== 'object' || workspaces === null ? workspaces : (workspaces as { packages?: unknown }).packages;
  if (!Array.isArray(list) || !list.every((glob) => typeof glob === 'string')) {
    throw new DeployError('PILOT_PACKAGE_JSON_INVALID', 'package.json "workspaces" must be a list of globs (e.g. ["packages/*"]) or { "packages": [...] }');
  }
  return list;
}

/** pnpm-workspace.yaml `packages`. */
export function pnpmWorkspaceGlobs(text: string | undefined): string[] {
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new DeployError('PILOT_PNPM_WORKSPACE_INVALID', `pnpm-workspace.yaml is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const packages = (parsed as { packages?: unknown } | null)?.packages;
  if (packages === undefined || packages === null) return [];
  if (!Array.isArray(packages) || !packages.every((glob) => typeof glob === 'string')) {
    throw new DeployError('PILOT_PNPM_WORKSPACE_INVALID', 'pnpm-workspace.yaml "packages" must be a list of globs (e.g. - "packages/*")');
  }
  return packages;
}
