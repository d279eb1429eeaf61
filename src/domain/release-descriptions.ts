/**
 * What `pilot releases` says a release did, as Heroku does: "Deploy abc1234" (written by the
 * Deployer), "Set GREETING", "Rollback to v2". Written once when the release is created.
 */

/** At most this many keys are named; the rest are counted. */
const NAMED_KEYS = 3;

export function rollbackDescription(version: number): string {
  return `Rollback to v${version}`;
}

/** A config change: "Set A, B", "Unset C", "Set A; unset C". */
export function configDescription(set: readonly string[], unset: readonly string[]): string {
  const parts = [...(set.length > 0 ? [`set ${keyList(set)}`] : []), ...(unset.length > 0 ? [`unset ${keyList(unset)}`] : [])];
  const text = parts.join('; ') || 'set config';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Memory and CPU limits: "Set limits: memory 256m, cpus 0.5" ("default" when back to the server's). */
export function limitsDescription(changes: { readonly memory?: string | null; readonly cpus?: number | null }): string {
  const parts = [
    ...(changes.memory !== undefined ? [`memory ${changes.memory ?? 'default'}`] : []),
    ...(changes.cpus !== undefined ? [`cpus ${changes.cpus ?? 'default'}`] : []),
  ];
  return parts.length > 0 ? `Set limits: ${parts.join(', ')}` : 'Set limits';
}

export function mountDescription(path: string): string {
  return `Mount a volume at ${path}`;
}

export function unmountDescription(path: string): string {
  return `Unmount the volume at ${path}`;
}

function keyList(keys: readonly string[]): string {
  const named = keys.slice(0, NAMED_KEYS).join(', ');
  return keys.length > NAMED_KEYS ? `${named} and ${keys.length - NAMED_KEYS} more` : named;
}
