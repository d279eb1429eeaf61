/**
 * The debootstrapped Debian bookworm root (minbase) that scripts/build-local-images.sh makes:
 * the fresh machine of test/e2e/install.test.ts and the base of the swarm test nodes. Built here
 * when a test runs on an engine that lacks it (one debootstrap per engine, reused by every run).
 */
import fs from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tempDir } from './integration.js';

export const BOOKWORM_IMAGE = 'pilot-local/bookworm-fresh:latest';

export interface CommandRun {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to its end (stdout and stderr together), killed after timeoutMs. */
export function runCommand(command: string, args: readonly string[], timeoutMs = 20 * 60_000, input?: string): Promise<CommandRun> {
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

/** Debian's mirror as this machine's apt knows it. */
function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!fs.existsSync(file)) continue;
    const uri = /^(?:URIs:\s*|deb\s+)(\S+)/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

export async function ensureBookwormImage(): Promise<void> {
  if ((await runCommand('docker', ['image', 'inspect', BOOKWORM_IMAGE])).code === 0) return;
  const root = tempDir('bookworm-root');
  const built = await runCommand('debootstrap', ['--variant=minbase', 'bookworm', root, debianMirror()]);
  if (built.code !== 0) throw new Error(`debootstrap failed:\n${built.output.slice(-3000)}`);
  execFileSync('bash', ['-c', `tar -C "${root}" -c . | docker import - ${BOOKWORM_IMAGE}`]);
  fs.rmSync(root, { recursive: true, force: true });
}
