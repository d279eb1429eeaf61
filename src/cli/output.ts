import { stripVTControlCharacters } from 'node:util';

/** Tables for people, JSON for scripts, colour only on a terminal that wants it. */
export interface Output {
  readonly json: boolean;
  print(text: string): void;
  /** `value` as JSON with --json; otherwise the human rendering. */
  result(value: unknown, human: () => string): void;
  table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string;
  bold(text: string): string;
  dim(text: string): string;
  /** Text with terminal colours (a build's output) as the stream takes it: as it is on a terminal that wants colour, else without escapes. */
  terminal(text: string): string;
}

/** A terminal that shows colour: not a file or a pipe, no NO_COLOR, not TERM=dumb. */
export function wantsColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !('NO_COLOR' in env) && env.TERM !== 'dumb';
}

/** `text` for a stream that shows colour or not: its escapes dropped for one that does not. */
export function forTerminal(text: string, colour: boolean): string {
  return colour ? text : stripVTControlCharacters(text);
}

export function createOutput(options: { json: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): Output {
  const stream = options.stream ?? process.stdout;
  const env = options.env ?? process.env;
  const colour = wantsColour(stream, env);
  const paint = (code: string) => (text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const bold = paint('1');
  return {
    json: options.json,
    print: (text) => void stream.write(`${text}\n`),
    result(value, human) {
      stream.write(`${options.json ? JSON.stringify(value, null, 2) : human()}\n`);
    },
    table(rows, columns) {
      if (rows.length === 0) return '(none)';
      const cells = rows.map((row) => columns.map((column) => show(row[column])));
      const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => (line[index] ?? '').length)));
      const line = (values: readonly string[]) => values.map((value, index) => value.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
      return [bold(line(columns.map((column) => column.toUpperCase()))), ...cells.map(line)].join('\n');
    },
    bold,
    dim: paint('2'),
    terminal: (text) => forTerminal(text, colour),
  };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}
