/** `pilot config` and `config:set`: the request bodies and what they print, apart from the commands. */
import { CliError } from './errors.js';
import type { ConfigChangeBody, ConfigView } from '../domain/shapes.js';

export type { ConfigView };

/** What `config:set` sends: always `set`, `build` with --build / --no-build. */
type ConfigSetBody = Required<Pick<ConfigChangeBody, 'set'>> & Pick<ConfigChangeBody, 'build'>;

/** `KEY=value` lines (a .env file), build vars marked with a comment. */
export function configLines(view: ConfigView): string {
  const build = new Set(view.buildKeys);
  return Object.entries(view.config)
    .map(([key, value]) => `${key}=${value}${build.has(key) ? '  # build' : ''}`)
    .join('\n');
}

/** The PATCH body of `config:set`: KEY=VALUE pairs, and with --build / --no-build also a KEY alone (its value kept). */
export function configSetBody(pairs: readonly string[], build: boolean | undefined): ConfigSetBody {
  const set: Record<string, string> = {};
  const keys: string[] = [];
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals < 0 && build !== undefined && pair !== '') {
      keys.push(pair);
      continue;
    }
    if (equals <= 0) throw new CliError(`"${pair}" is not KEY=VALUE${build === undefined ? '' : ' or KEY'}`);
    set[pair.slice(0, equals)] = pair.slice(equals + 1);
    keys.push(pair.slice(0, equals));
  }
  return build === undefined ? { set } : { set, build: Object.fromEntries(keys.map((key) => [key, build])) };
}

/** What `config:set` did, for people: what was set or flagged, whether it released, what the next build sees. */
export function configSetSummary(body: ConfigSetBody, result: Omit<ConfigView, 'release'> & { release: { version: number } | null }): string[] {
  const lines: string[] = [];
  const setKeys = Object.keys(body.set);
  if (setKeys.length > 0) lines.push(`Set ${setKeys.join(', ')}${result.release ? ` and released v${result.release.version}` : ' (used from the next deploy)'}`);
  const flagged = Object.entries(body.build ?? {}).filter(([key]) => !(key in body.set));
  for (const [key, build] of flagged) lines.push(`Made ${key} ${build ? 'a build var' : 'runtime only'} (its value is unchanged)`);
  return [...lines, ...nextBuildLines(result)];
}

export function nextBuildLines(result: Pick<ConfigView, 'nextBuild'>): string[] {
  const keys = result.nextBuild ?? [];
  if (keys.length === 0) return [];
  return [`Builds see the change to ${keys.join(', ')} from the next push: the running image keeps what it was built with`];
}
