import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { integrationSkipReason, localImages, tempDir, testInstanceName } from '../helpers/integration.js';

const skip = integrationSkipReason();
const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The fresh machine: a debootstrapped bookworm, reused by every run on this engine. */
const FRESH_IMAGE = 'pilot-local/bookworm-fresh:latest';
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function run(command: string, args: string[], timeoutMs = 20 * 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
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

async function ensureFreshImage(): Promise<void> {
  if ((await run('docker', ['image', 'inspect', FRESH_IMAGE])).code === 0) return;
  const root = tempDir('bookworm-root');
  const built = await run('debootstrap', ['--variant=minbase', 'bookworm', root, debianMirror()]);
  assert.equal(built.code, 0, `debootstrap failed:\n${built.output.slice(-3000)}`);
  execFileSync('bash', ['-c', `tar -C "${root}" -c . | docker import - ${FRESH_IMAGE}`]);
  fs.rmSync(root, { recursive: true, force: true });
}

describe('install.sh on a fresh Debian bookworm machine (a container with its own Docker engine)', { skip }, () => {
  const name = `${testInstanceName()}-fresh-machine`;
  const images = path.join(tempDir('images'), 'images.tar');

  before(async () => {
    await ensureFreshImage();
    execFileSync('docker', ['save', '-o', images, localImages().staticImage]);
    // The recipe of MACHINE-NOTES: --privileged fails here, this runs an engine inside.
    const started = await run('docker', [
      'run', '-d', '--name', name, '--hostname', 'fresh',
      '--cap-add=ALL', '--cap-drop=SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/var/lib/docker:exec',
      '-v', `${CHECKOUT}:/src:ro`, '-v', `${images}:/images.tar:ro`, '-v', `${HOST_CA}:/host-ca.crt:ro`,
      FRESH_IMAGE, 'sleep', 'infinity',
    ]);
    assert.equal(started.code, 0, started.output);
  });
  after(async () => {
    await run('docker', ['rm', '-f', name]);
  });

  /** A command in the fresh machine; only the registries this machine reaches, through its CA. */
  function inside(script: string, timeoutMs?: number): Promise<Run> {
    return run('docker', [
      'exec', '-e', 'CURL_CA_BUNDLE=/host-ca.crt', '-e', 'NODE_EXTRA_CA_CERTS=/host-ca.crt', '-e', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      name, 'bash', '-c', script,
    ], timeoutMs);
  }

  // A non-default port: the re-run, given no flags at all, must keep it (and the rest).
  const install = `bash /src/install.sh --domain localhost --port 3100 --static-image ${localImages().staticImage}`;
  const fetchSite = 'curl -fsS --resolve site.localhost:443:127.0.0.1 --cacert /var/lib/pilot/caddy/data/caddy/pki/authorities/local/root.crt https://site.localhost/';

  it('installs Pilot, which then deploys a git push and serves it over HTTPS; a second run upgrades in place', async () => {
    const first = await inside(install);
    assert.equal(first.code, 0, `install.sh failed:\n${first.output.slice(-6000)}`);
    assert.match(first.output, /==> checks\n {4}system: debian 12/);
    assert.match(first.output, /first install/);
    assert.match(first.output, /Node\.js v2\d\.\d+\.\d+/, 'a Node.js >= 20 was installed');
    assert.match(first.output, /admin token \(shown once/);
    assert.match(first.output, /curl -fsSL https:\/\/pilot\.localhost\/cli\/install\.sh \| sh/);
    assert.match(first.output, /pilot git:remote -a <app>\n\s+git push pilot main/);
    const token = (await inside('cat /var/lib/pilot/admin-token')).output.trim();
    assert.match(first.output, new RegExp(token), 'the admin token is printed');
    assert.equal((await inside('stat -c %a /etc/pilot/pilot.env')).output.trim(), '600');

    const loaded = await inside('docker load -i /images.tar');
    assert.equal(loaded.code, 0, loaded.output);
    const pushed = await inside(
      'set -e; mkdir -p /tmp/site && cd /tmp/site && git init -q -b main && echo "hello from a fresh machine" > index.html && ' +
        'git add . && git -c user.name=t -c user.email=t@t commit -qm site && ' +
        `git push http://pilot:${token}@127.0.0.1:3100/site.git main 2>&1`,
    );
    assert.equal(pushed.code, 0, `push failed:\n${pushed.output}`);
    assert.match(pushed.output, /Switched traffic to v1/);
    const served = await inside(fetchSite);
    assert.equal(served.code, 0, served.output);
    assert.equal(served.output.trim(), 'hello from a fresh machine');

    const second = await inside('bash /src/install.sh');
    assert.equal(second.code, 0, `re-running install.sh failed:\n${second.output.slice(-6000)}`);
    assert.match(second.output, /upgrade: apps, releases, tokens and data stay/);
    assert.doesNotMatch(second.output, /shown once/, 'the token is not shown again');
    assert.equal((await inside('cat /var/lib/pilot/admin-token')).output.trim(), token);
    assert.equal((await inside(fetchSite)).output.trim(), 'hello from a fresh machine', 'the app is still served after the upgrade');
    const releases = await inside(`curl -fsS -H "Authorization: Bearer ${token}" http://127.0.0.1:3100/api/v1/apps/site/releases`);
    assert.equal((JSON.parse(releases.output) as unknown[]).length, 1, 'the release history is kept');
    // The settings of the first run were kept: the base image setting builds the next push.
    const again = await inside(
      `set -e; cd /tmp/site && echo "after the upgrade" > index.html && git -c user.name=t -c user.email=t@t commit -qam v2 && git push http://pilot:${token}@127.0.0.1:3100/site.git main 2>&1`,
    );
    assert.equal(again.code, 0, `push after the upgrade failed:\n${again.output}`);
    assert.equal((await inside(fetchSite)).output.trim(), 'after the upgrade');

    const removed = await inside('bash /src/install.sh --uninstall');
    assert.equal(removed.code, 0, removed.output);
    assert.equal((await inside('test ! -e /opt/pilot && test ! -e /etc/pilot && test -e /var/lib/pilot/pilot.db')).code, 0, 'files gone, data kept');
  });
});
