import { Option, type Command } from 'commander';
import readline from 'node:readline/promises';
import { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { createOutput, type Output } from './output.js';
import { loadCredentials, resolveApp } from './settings.js';

interface GlobalOptions {
  json?: boolean;
}

/** What a command prints with, and its API client (made on first use: some commands need no login). */
export function context(command: Command): { out: Output; client: () => ApiClient } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { out: createOutput({ json: options.json === true }), client: () => new ApiClient(loadCredentials()) };
}

export function appOption(): Option {
  return new Option('-a, --app <name>', 'the app (default: from the `pilot` git remote)');
}

/** The app a command is about: -a, else the `pilot` git remote. */
export function appOf(command: Command): string {
  return resolveApp(command.opts<{ app?: string }>().app);
}

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliError(`${value} is not a positive whole number`);
  return number;
}

/** Reads one answer: from the terminal with a prompt, else one line of stdin. */
export async function ask(question: string): Promise<string> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    return await prompt.question(process.stdin.isTTY ? question : '');
  } finally {
    prompt.close();
  }
}
