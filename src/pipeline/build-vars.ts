/**
 * Build vars: config vars a build sees as `--build-arg`s. The values may be secrets, and the
 * build log is readable by deploy tokens, so every line of it is masked.
 */
import { CUT_MARK, hasEscapes, isColour, terminalPieces } from '../domain/terminal-text.js';

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
 * several lines is masked line by line, as the build prints it. The line may hold terminal
 * colours: see maskLine.
 */
export function secretMasker(values: Iterable<string>): (line: string) => string {
  const secrets = [...new Set([...values].flatMap((value) => value.split(/\r?\n/)).map((part) => part.trim()))]
    .filter((part) => part.length >= MIN_MASKED_LENGTH)
    .sort((a, b) => b.length - a.length);
  return (line) => maskLine(line, secrets);
}

/**
 * Masks what the line shows: the secrets are found in its text without escapes, and each match
 * replaces the whole raw span it covers, the escapes inside it too, so a secret split by a
 * colour change is masked whole. The colours of a masked span follow its mask: what comes after
 * it keeps its colour. Escapes other than colours are dropped: they move a terminal's cursor,
 * or carry text (a link's URL) that no mask of the visible text would see.
 */
function maskLine(line: string, secrets: readonly string[]): string {
  if (secrets.length === 0 && !hasEscapes(line)) return line;
  // The line as units: one per character of its text, one per colour escape.
  const units: { readonly raw: string; readonly text: boolean }[] = [];
  for (const piece of terminalPieces(line)) {
    if ('text' in piece) for (const char of piece.text.split('')) units.push({ raw: char, text: true });
    else if (isColour(piece.escape)) units.push({ raw: piece.escape, text: false });
  }
  const unitOf = units.flatMap((unit, index) => (unit.text ? [index] : []));
  const visible = unitOf.map((index) => units[index]?.raw).join('');
  let masked = '';
  let next = 0;
  for (const [start, end] of secretSpans(visible, secrets)) {
    const first = unitOf[start] as number;
    const last = unitOf[end - 1] as number;
    masked += units.slice(next, first).map((unit) => unit.raw).join('');
    masked += MASK + units.slice(first, last + 1).filter((unit) => !unit.text).map((unit) => unit.raw).join('');
    next = last + 1;
  }
  return masked + units.slice(next).map((unit) => unit.raw).join('');
}

/** Where the secrets are in `text`, as [start, end) spans in order: longest first, never overlapping. */
function secretSpans(text: string, secrets: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  // Which characters a span already covers: the overlap check costs a secret's length, not the spans found so far.
  const covered = new Uint8Array(text.length);
  const overlaps = (start: number, end: number): boolean => covered.subarray(start, end).includes(1);
  for (const secret of secrets) {
    for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
      const end = at + secret.length;
      if (overlaps(at, end)) continue;
      spans.push([at, end]);
      covered.fill(1, at, end);
      at = end - 1;
    }
  }
  if (text.endsWith(CUT_MARK)) {
    // A cut line may end in the first part of a secret (its rest was cut): that part is masked too.
    const kept = text.length - CUT_MARK.length;
    const tail = secrets.map((secret) => partialAtEnd(text.slice(0, kept), secret)).reduce((longest, length) => Math.max(longest, length), 0);
    if (tail > 0 && !overlaps(kept - tail, kept)) spans.push([kept - tail, kept]);
  }
  return spans.sort((a, b) => a[0] - b[0]);
}

/** How many characters at the end of `text` begin `secret` (the secret itself not whole there). */
function partialAtEnd(text: string, secret: string): number {
  for (let length = Math.min(secret.length - 1, text.length); length > 0; length -= 1) {
    if (text.endsWith(secret.slice(0, length))) return length;
  }
  return 0;
}
