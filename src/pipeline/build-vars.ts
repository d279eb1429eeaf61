/**
 * Build vars: config vars a build sees as `--build-arg`s. The values may be secrets, and the
 * build log is readable by deploy tokens, so every line of it is masked.
 */

/** Shorter values are not masked: masking `1` or `yes` would garble the log and hide nothing. */
export const MIN_MASKED_LENGTH = 4;
const MASK = '****';

/**
 * Names of the ARGs a Dockerfile declares, in every stage (`ARG NAME`, `ARG NAME=default`,
 * `ARG A B=2`), with line continuations and comments as the Dockerfile syntax has them.
 */
export function declaredArgs(dockerfile: string): Set<string> {
  const names = new Set<string>();
  for (const { text: instruction } of dockerfileInstructions(dockerfile)) {
    const match = /^ARG\s+(.+)$/is.exec(instruction);
    if (!match?.[1]) continue;
    // Words, a quoted part belonging to its word: `A="x Y"` is one word.
    for (const word of match[1].match(/(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')+/g) ?? []) {
      const name = /^([A-Za-z_][A-Za-z0-9_]*)(=|$)/.exec(word)?.[1];
      if (name) names.add(name);
    }
  }
  return names;
}

/**
 * The Dockerfile's instructions with the line each starts on: comment lines dropped, continued
 * lines joined.
 */
export function dockerfileInstructions(dockerfile: string): { text: string; line: number }[] {
  const result: { text: string; line: number }[] = [];
  let current = '';
  let start = 0;
  for (const [index, raw] of dockerfile.split(/\r?\n/).entries()) {
    // Comment and empty lines inside a continued instruction are skipped, as Docker does.
    if (raw.trim().startsWith('#') || (raw.trim() === '' && current !== '')) continue;
    if (current === '') start = index + 1;
    // Joined as the builder joins them: a continued line keeps its indent (`FROM alp\` + `ine` is alpine).
    const line = current === '' ? raw.trim() : raw.trimEnd();
    if (line.endsWith('\\')) {
      current += line.slice(0, -1);
      continue;
    }
    current += line;
    if (current.trim() !== '') result.push({ text: current.trim(), line: start });
    current = '';
  }
  if (current.trim() !== '') result.push({ text: current.trim(), line: start });
  return result;
}

/** What a build gets: the build vars the Dockerfile declares, and the names of those it does not. */
export function buildArgsFor(
  dockerfile: string,
  buildVars: Readonly<Record<string, string>>,
): { args: Record<string, string>; undeclared: string[] } {
  const declared = declaredArgs(dockerfile);
  const args: Record<string, string> = {};
  const undeclared: string[] = [];
  for (const [key, value] of Object.entries(buildVars)) {
    if (declared.has(key)) args[key] = value;
    else undeclared.push(key);
  }
  return { args, undeclared: undeclared.sort() };
}

/**
 * A function that replaces every value (of MIN_MASKED_LENGTH characters or more) in a line
 * with `****`. Longest first, so a value containing another is masked whole; a value of
 * several lines is masked line by line, as the build prints it.
 */
export function secretMasker(values: Iterable<string>): (line: string) => string {
  const secrets = [...new Set([...values].flatMap((value) => value.split(/\r?\n/)).map((part) => part.trim()))]
    .filter((part) => part.length >= MIN_MASKED_LENGTH)
    .sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (line) => line;
  return (line) => secrets.reduce((masked, secret) => masked.replaceAll(secret, MASK), line);
}
