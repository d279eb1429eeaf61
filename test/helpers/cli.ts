/** The real `pilot` CLI (src/cli/main.ts) as a child process, as users run it. */
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
// Resolved here: the CLI runs in an app's directory, where `tsx` is not resolvable.
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `pilot ARGS` in `cwd` with only PATH and `env` in its environment. */
export function spawnPilot(args: readonly string[], cwd: string, env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
}

/** Runs `pilot ARGS` to its end; with `input`, that is its whole stdin (else stdin stays open). */
export function runPilot(args: readonly string[], cwd: string, env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnPilot(args, cwd, env);
    if (input !== undefined) child.stdin.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
