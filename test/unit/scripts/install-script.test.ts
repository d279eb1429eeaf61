import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const INSTALL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'install.sh');

function install(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('install.sh options (no machine changed)', () => {
  it('--help lists every option with its environment variable', () => {
    const { code, output } = install(['--help']);
    assert.equal(code, 0);
    for (const option of ['--domain', '--email', '--source', '--dry-run', '--uninstall', '--purge', '--keep-apps', '--remove-apps', '--verbose', '--log', '--public-ip']) {
      assert.match(output, new RegExp(option));
    }
    for (const variable of ['PILOT_DOMAIN', 'PILOT_ACME_EMAIL', 'PILOT_SOURCE', 'PILOT_DRY_RUN=1', 'PILOT_UNINSTALL=1']) assert.match(output, new RegExp(variable));
  });

  it('refuses unknown options and bad values, saying which', () => {
    assert.match(install(['--frobnicate']).output, /unknown option: --frobnicate/);
    assert.match(install(['--tls', 'maybe']).output, /--tls must be acme, internal or off/);
    assert.match(install(['--port', 'eighty']).output, /'eighty' is not a number/);
    assert.match(install(['--domain', 'a b']).output, /is not a host name/);
    assert.match(install(['--public-ip', 'here']).output, /--public-ip 'here' is not an IP address/);
    assert.match(install(['--tls', 'acme', '--domain', 'localhost']).output, /--tls acme cannot get certificates for 'localhost'/);
    assert.match(install(['--uninstall', '--purge', '--keep-apps']).output, /--purge removes the apps: it cannot go with --keep-apps/);
    assert.equal(install(['--frobnicate']).code, 1);
  });

  const asRoot = { skip: process.getuid?.() !== 0 ? 'needs root, as install.sh does' : false };
  const fingerprint = 'ab:'.repeat(31) + 'ab';

  it('--help lists the options of several servers', () => {
    const { output } = install(['--help']);
    for (const option of ['--manager', '--join', '--token', '--registry', '--registry-ca-sha256', '--advertise-addr', '--registry-image', '--caddy-image']) assert.match(output, new RegExp(`${option} `));
    for (const variable of ['PILOT_SCHEDULER=swarm', 'PILOT_JOIN', 'PILOT_JOIN_TOKEN', 'PILOT_REGISTRY_CA_SHA256', 'PILOT_REGISTRY_IMAGE', 'PILOT_CADDY_IMAGE']) assert.match(output, new RegExp(variable));
  });

  it('refuses a --join without what joining needs, or with values that cannot be right', () => {
    assert.match(install(['--join', '10.0.0.5']).output, /--join needs --token: `pilot nodes:join-command` on the manager prints the whole line/);
    assert.match(install(['--join', '10.0.0.5', '--token', 'SWMTKN-1-abc']).output, /--join needs --registry-ca-sha256/);
    assert.match(install(['--join', '10.0.0.5', '--token', 'secret', '--registry-ca-sha256', fingerprint]).output, /--token 'secret' is not a swarm join token/);
    assert.match(install(['--join', 'a b', '--token', 'SWMTKN-1-abc', '--registry-ca-sha256', fingerprint]).output, /--join 'a b:2377' is not HOST:PORT/);
    assert.match(install(['--join', '10.0.0.5', '--token', 'SWMTKN-1-abc', '--registry-ca-sha256', 'ab:cd']).output, /is not a SHA-256 fingerprint/);
    assert.match(install(['--join', '10.0.0.5', '--token', 'SWMTKN-1-abc', '--registry-ca-sha256', fingerprint, '--registry', 'nowhere']).output, /--registry 'nowhere' is not HOST:PORT/);
    assert.match(install(['--manager', '--join', '10.0.0.5', '--token', 'SWMTKN-1-abc', '--registry-ca-sha256', fingerprint]).output, /--manager and --join exclude each other/);
    assert.match(install(['--manager', '--advertise-addr', 'eth0']).output, /--advertise-addr 'eth0' is not an IP address/);
  });

  it('--join --dry-run trusts the registry of the manager (port 5000 by default) and joins, installing no Pilot', asRoot, () => {
    const { code, output } = install(['--dry-run', '--join', '10.0.0.5', '--token', 'SWMTKN-1-abc', '--registry-ca-sha256', fingerprint]);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`would install the CA of 10\\.0\\.0\\.5:5000 \\(SHA-256 ${'AB'.repeat(32)}\\) into /etc/docker/certs\\.d/10\\.0\\.0\\.5:5000/ca\\.crt`));
    assert.match(output, /would run: docker swarm join --token SWMTKN-1-abc 10\.0\.0\.5:2377|the engine is in a swarm already/);
    // The fingerprint is checked before Docker is installed: a wrong one leaves the server as it was.
    assert.match(output, new RegExp(`==> checking Pilot's registry at 10\\.0\\.0\\.5:5000\n {4}would read the CA 10\\.0\\.0\\.5:5000 presents and compare it with SHA-256 ${'AB'.repeat(32)}\n==> Docker\n`));
    assert.doesNotMatch(output, /Caddy|Node\.js|Pilot from/);
  });

  /** A dry run into a temporary directory; .invalid names never resolve (RFC 2606). */
  function dryRun(args: string[], prepare: (root: string) => void = () => undefined) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-dry-'));
    prepare(root);
    const result = install(['--dry-run', '--prefix', path.join(root, 'opt'), '--data-dir', path.join(root, 'data'), '--config-dir', path.join(root, 'etc'), '--http-port', '1', '--https-port', '2', '--public-ip', '203.0.113.7', ...args], {
      PILOT_DOMAIN: 'pilot-test.invalid',
    });
    const written = fs.readdirSync(root);
    fs.rmSync(root, { recursive: true, force: true });
    return { ...result, written };
  }

  it('--dry-run checks DNS first: the records to create, and what works without them', asRoot, () => {
    const { code, output } = dryRun([]);
    assert.equal(code, 0, output);
    assert.match(output, /this server: 203\.0\.113\.7/);
    assert.match(output, /DNS: pilot\.pilot-test\.invalid does not resolve/);
    assert.match(output, /DNS: \*\.pilot-test\.invalid \(tried dns-check-\d+\.pilot-test\.invalid\) does not resolve/);
    assert.match(output, /pilot\.pilot-test\.invalid\. +A +203\.0\.113\.7\n.*\*\.pilot-test\.invalid\. +A +203\.0\.113\.7/);
    assert.match(output, /ACME \(the default for a domain\) cannot get certificates until they do/);
    assert.match(output, /--tls internal +HTTPS now, from Pilot's own CA/);
    assert.match(output, /--domain 203\.0\.113\.7\.sslip\.io/);
    assert.match(output, /\(dry run: a real run stops here\)/);
  });

  it('--tls internal does not wait for DNS; it still prints the records for other machines', asRoot, () => {
    const { code, output } = dryRun(['--tls', 'internal']);
    assert.equal(code, 0, output);
    assert.match(output, /\*\.pilot-test\.invalid\. +A +203\.0\.113\.7/);
    assert.match(output, /with --tls internal, HTTPS does not wait for DNS/);
    assert.doesNotMatch(output, /a real run stops here/);
  });

  it('--manager --dry-run makes the engine a swarm manager before Pilot starts', asRoot, () => {
    const { code, output } = dryRun(['--manager', '--tls', 'internal']);
    assert.equal(code, 0, output);
    // Within the swarm step; an engine that is slow to answer `docker version` (a loaded machine) adds its start line first.
    assert.match(output, /==> Docker Swarm: this server is the manager\n(?: {4}.*\n)*? {4}would run: docker swarm init \(unless the engine is in a swarm\)/);
    assert.match(output, /would set PILOT_SCHEDULER in /);
  });

  it('--manager installs no Caddy on the host: Pilot runs it as a container, from --caddy-image', asRoot, () => {
    const { code, output } = dryRun(['--manager', '--tls', 'internal', '--caddy-image', 'local/caddy:test']);
    assert.equal(code, 0, output);
    assert.match(output, /Caddy: the container pilot-caddy \(local\/caddy:test\), started by Pilot; none on the host/);
    assert.doesNotMatch(output, /install(?:ed)?: .*\bcaddy\b|Caddy: v\d/);
    assert.match(output, /would set PILOT_CADDY_IMAGE in /);
    const single = dryRun(['--tls', 'internal']).output;
    assert.doesNotMatch(single, /none on the host|PILOT_CADDY_IMAGE/, 'one host keeps its host Caddy');
  });

  const noSystemd = { skip: asRoot.skip || (fs.existsSync('/run/systemd/system') ? 'systemd runs here: caddy.service is what is stopped' : false) };
  it('--manager on a single-host install without systemd stops the Caddy that Pilot ran on the host, and says so', noSystemd, () => {
    // A process standing for that Caddy, its pid where Pilot keeps it.
    const caddy = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pidFile = (root: string): void => {
      fs.mkdirSync(path.join(root, 'data', 'caddy'), { recursive: true });
      fs.writeFileSync(path.join(root, 'data', 'caddy', 'caddy.pid'), `${caddy.pid}\n`);
    };
    try {
      const { code, output } = dryRun(['--manager', '--tls', 'internal'], pidFile);
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`swarm mode: stopping the Caddy the single-host Pilot ran on the host \\(pid ${caddy.pid}, ports 1/2\\); the container pilot-caddy serves them now`));
      assert.match(output, new RegExp(`would run: kill -TERM ${caddy.pid}\n`));
      assert.doesNotMatch(dryRun(['--tls', 'internal'], pidFile).output, /stopping the Caddy/, 'one host keeps it');
    } finally {
      caddy.kill();
    }
  });

  it('--dry-run prints each step and what it would run, and writes nothing', asRoot, () => {
    const { code, output, written } = dryRun(['--tls', 'acme']);
    assert.equal(code, 0, output);
    assert.match(output, /==> dry run: nothing will be changed/);
    assert.match(output, /==> checks\n/);
    assert.match(output, /would run: .*npm-cli\.js ci|would run: .* ci --no-audit/);
    assert.match(output, /would set PILOT_DOMAIN in .*pilot\.env/);
    assert.match(output, /would set PILOT_TLS in .*pilot\.env/);
    assert.match(output, /--tls acme: certificates come once these records point here/);
    assert.match(output, /==> dry run done/);
    assert.deepEqual(written, [], 'nothing was written');
  });
});
