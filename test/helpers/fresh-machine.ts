/**
 * A fresh server for install.sh: a container of a debootstrapped Debian bookworm that can run
 * its own Docker engine (the recipe of MACHINE-NOTES: --privileged fails here). The image is made
 * once per engine and shared by every test (`pilot-local/bookworm-fresh:latest`, also the base
 * of test/helpers/registry-image.ts); each test removes its own container.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandRun } from './command.js';
import { tempDir } from './integration.js';

export const FRESH_IMAGE = 'pilot-local/bookworm-fresh:latest';
const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';
/** An install compiles better-sqlite3 and downloads Node.js: minutes, not the default ten. */
const INSTALL_TIMEOUT_MS = 20 * 60_000;

/** Debian's mirror as this machine's apt knows it. */
function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!fs.existsSync(file)) continue;
    const uri = /^(?:URIs:\s*|deb\s+)(\S+)/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

export async function ensureFreshImage(): Promise<void> {
  if ((await runCommand('docker', ['image', 'inspect', FRESH_IMAGE])).code === 0) return;
  const root = tempDir('bookworm-root');
  const built = await runCommand('debootstrap', ['--variant=minbase', 'bookworm', root, debianMirror()], undefined, INSTALL_TIMEOUT_MS);
  assert.equal(built.code, 0, `debootstrap failed:\n${built.output.slice(-3000)}`);
  execFileSync('bash', ['-c', `tar -C "${root}" -c . | docker import - ${FRESH_IMAGE}`]);
  fs.rmSync(root, { recursive: true, force: true });
}

export interface FreshMachine {
  /** A bash script run as root in the machine; only the registries this machine reaches, through its CA. */
  inside(script: string, timeoutMs?: number): Promise<CommandRun>;
  /** Its address on the engine's default bridge, where the other fresh machines reach it. */
  address(): Promise<string>;
  remove(): Promise<void>;
}

/**
 * Starts the machine `name` with Pilot's checkout at /src (read-only) and the host's CA bundle at
 * /host-ca.crt; `mounts` are more `-v` values. Nothing runs in it but `sleep`: no engine yet.
 * Machines of one swarm need hostnames of their own (`pilot nodes:drain` takes one).
 */
export async function startFreshMachine(name: string, mounts: readonly string[] = [], extraArgs: readonly string[] = [], hostname = 'fresh'): Promise<FreshMachine> {
  await ensureFreshImage();
  const started = await runCommand('docker', [
    'run', '-d', '--name', name, '--hostname', hostname,
    '--cap-add=ALL', '--cap-drop=SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
    '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/var/lib/docker:exec',
    '-v', `${CHECKOUT}:/src:ro`, '-v', `${HOST_CA}:/host-ca.crt:ro`, ...mounts.flatMap((mount) => ['-v', mount]), ...extraArgs,
    FRESH_IMAGE, 'sleep', 'infinity',
  ]);
  assert.equal(started.code, 0, started.output);
  return {
    inside: (script, timeoutMs = INSTALL_TIMEOUT_MS) =>
      runCommand('docker', [
        'exec', '-e', 'CURL_CA_BUNDLE=/host-ca.crt', '-e', 'NODE_EXTRA_CA_CERTS=/host-ca.crt', '-e', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        name, 'bash', '-c', script,
      ], undefined, timeoutMs),
    address: async () => {
      const inspected = await runCommand('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name]);
      assert.equal(inspected.code, 0, inspected.output);
      return inspected.output.trim();
    },
    remove: async () => {
      await runCommand('docker', ['rm', '-f', '-v', name]);
    },
  };
}
