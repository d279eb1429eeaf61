import { spawn } from 'node:child_process';

export interface CommandRun {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to its end (stdout and stderr together), with `input` on its stdin. */
export function runCommand(command: string, args: readonly string[], input?: string, timeoutMs = 10 * 60_000): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin?.end(input);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
