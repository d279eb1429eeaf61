/**
 * Terminal output (a build's, with its colours) cut into text and escape sequences. What an
 * escape sequence is, is Node's to say: `util.stripVTControlCharacters` (the pattern of
 * ansi-regex) measures each one, so masking, parsing and rendering agree on it.
 */
import { stripVTControlCharacters } from 'node:util';

export type TerminalPiece = { readonly text: string } | { readonly escape: string };

export const RESET = '\u001b[0m';

/**
 * The pieces of `raw`, in order: every escape sequence as one piece, the text between them as
 * others. A lone introducer that starts no sequence (a malformed or cut escape) is a piece of
 * its own, an escape that is no colour.
 */
export function terminalPieces(raw: string): TerminalPiece[] {
  const pieces: TerminalPiece[] = [];
  let index = 0;
  while (index < raw.length) {
    const next = introducerFrom(raw, index);
    if (next !== index) {
      const end = next < 0 ? raw.length : next;
      pieces.push({ text: raw.slice(index, end) });
      index = end;
      continue;
    }
    const following = introducerFrom(raw, index + 1);
    // One introducer, at its start: what Node strips of it is the sequence it starts.
    const head = raw.slice(index, following < 0 ? raw.length : following);
    const length = Math.max(1, head.length - stripVTControlCharacters(head).length);
    pieces.push({ escape: head.slice(0, length) });
    index += length;
  }
  return pieces;
}

/** Either introducer; sticky search from a position, so that finding the next one never rescans the line. */
// eslint-disable-next-line no-control-regex -- the introducers are control characters: that is what is searched for
const INTRODUCER = /[\u001b\u009b]/g;

function introducerFrom(raw: string, from: number): number {
  INTRODUCER.lastIndex = from;
  return INTRODUCER.exec(raw)?.index ?? -1;
}

/** Whether the text holds any escape (or a stray introducer). */
export function hasEscapes(raw: string): boolean {
  return introducerFrom(raw, 0) >= 0;
}

/** The parameters of a colour or style escape (SGR: `ESC[1;31m` → `1;31`); undefined for any other escape. */
function colourParameters(escape: string): string | undefined {
  const start = escape.startsWith('\u001b[') ? 2 : escape.startsWith('\u009b') ? 1 : -1;
  if (start < 0 || !escape.endsWith('m')) return undefined;
  const parameters = escape.slice(start, -1);
  return /^[\d;]*$/.test(parameters) ? parameters : undefined;
}

/** A colour or style (SGR): the only escapes a log keeps. */
export function isColour(escape: string): boolean {
  return colourParameters(escape) !== undefined;
}

/** The text of `raw` as a person reads it: without any escape. */
export function visibleText(raw: string): string {
  return terminalPieces(raw).map((piece) => ('text' in piece ? piece.text : '')).join('');
}

/** The most escapes a line carries over: a build that never resets must not make its lines grow. */
const MAX_CARRIED = 16;

/**
 * The colour escapes still in effect at the end of `raw`: those after its last reset
 * (`ESC[0m`, `ESC[m`; `ESC[0;31m` resets, then sets red), each once (its last time: a later
 * `ESC[1m` after `ESC[22m` is bold again), the last MAX_CARRIED of them.
 */
export function coloursInEffect(raw: string): string {
  let open: string[] = [];
  for (const piece of terminalPieces(raw)) {
    if (!('escape' in piece)) continue;
    const parameters = colourParameters(piece.escape);
    if (parameters === undefined) continue;
    if (parameters === '' || parameters === '0' || parameters.startsWith('0;') || parameters.startsWith(';')) open = [];
    // Bounded as it goes (the result is the last MAX_CARRIED anyway): a line of many distinct escapes stays linear.
    if (parameters !== '' && parameters !== '0') open = [...open.filter((escape) => escape !== piece.escape), piece.escape].slice(-MAX_CARRIED);
  }
  return open.join('');
}

/** The longest line a build log keeps: the rest of a longer line is cut, and this says so at its end. */
export const MAX_LINE_CHARS = 64 * 1024;
export const CUT_MARK = ' [… line cut: longer than 64 KiB]';
