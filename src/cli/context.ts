import { Option, type Command } from 'commander';
import readline from 'node:readline';
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

/** The app of a command that also takes it as its argument (`pilot apps:info shop`). */
export function appOfArgument(name: string | undefined, command: Command): string {
  const option = command.opts<{ app?: string }>().app;
  if (name !== undefined && option !== undefined && name !== option) throw new CliError(`two apps given (${name} and -a ${option}): give one`);
  return resolveApp(name ?? option);
}

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliError(`${value} is not a positive whole number`);
  return number;
}

/**
 * Reads one answer: from the terminal with a prompt, else the first line of stdin. Input that
 * ends first (no terminal, an empty pipe, Ctrl-D) is a CliError saying `missing`, not a silent exit.
 */
export function ask(question: string, missing: string, input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<string> {
  const terminal = input.isTTY === true;
  const prompt = readline.createInterface({ input, output: process.stderr, terminal });
  return new Promise((resolve, reject) => {
    prompt.once('line', (line) => {
      resolve(line);
      prompt.close();
    });
    // After a line this changes nothing: the promise is settled.
    prompt.once('close', () => reject(new CliError(missing)));
    if (terminal) {
      prompt.setPrompt(question);
      prompt.prompt();
    }
  });
}
