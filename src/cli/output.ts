/** Tables for people, JSON for scripts, colour only on a terminal that wants it. */
export interface Output {
  readonly json: boolean;
  print(text: string): void;
  /** `value` as JSON with --json; otherwise the human rendering. */
  result(value: unknown, human: () => string): void;
  table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string;
  bold(text: string): string;
  dim(text: string): string;
}

export function createOutput(options: { json: boolean; stream?: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): Output {
  const stream = options.stream ?? process.stdout;
  const env = options.env ?? process.env;
  const colour = stream.isTTY === true && !('NO_COLOR' in env) && env.TERM !== 'dumb';
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
  };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}
