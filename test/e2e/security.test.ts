import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Docker from 'dockerode';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const docker = new Docker();

/** Every bad input gets a clear refusal and changes nothing (real Docker, Caddy and git). */
describe('security: bad input and attacks are refused and change nothing', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot({ PILOT_MAX_PUSH_MB: '1' });
    client = new GitClient(tempDir('secure'));
    await client.init();
    await client.commit({
      'package.json': JSON.stringify({ name: 'env-echo', scripts: { start: 'node server.js' } }),
      'server.js': "require('http').createServer((q, s) => s.end(process.env.WEIRD ?? 'unset')).listen(process.env.PORT);\n",
    });
    assertPushed(await push(client, 'secure'));
  });
  after(async () => {
    await pilot?.close();
  });

  function push(repo: GitClient, app: string, token = pilot.token, ref = 'HEAD:refs/heads/main'): Promise<GitResult> {
    return repo.run(['push', remoteUrl(pilot.server.address, app, token), ref], { timeoutMs: 60_000 });
  }

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  }

  function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: string | object, headers: Record<string, string> = {}) {
    return pilot.server.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${pilot.token}`, ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload !== undefined ? { payload } : {}),
    });
  }

  /** What must not change: releases, the route file, the app's answer. */
  async function snapshot(): Promise<string> {
    const releases = pilot.server.db.prepare('SELECT app_id, version, status FROM releases ORDER BY id').all();
    const apps = pilot.server.db.prepare('SELECT name FROM apps ORDER BY name').all();
    const caddyfile = fs.readFileSync(pilot.server.paths.caddyfile, 'utf8');
    const answer = (await httpsGet({ host: `secure.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile })).body;
    return JSON.stringify({ releases, apps, caddyfile, answer });
  }

  function rawGit(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.request(`${pilot.server.address}${url}`, { method, headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  it('refuses git requests without, with a wrong or with a revoked token, on every git route', async () => {
    const before = await snapshot();
    const created = (await api('POST', '/tokens', { name: 'soon revoked', app: 'secure' })).json() as { token: string };
    await api('DELETE', '/tokens/soon%20revoked');
    const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` });
    const pktFlush = Buffer.from('0000');
    for (const headers of [{}, basic('pilot_wrong'), basic(created.token)]) {
      assert.equal(await rawGit('GET', '/secure.git/info/refs?service=git-receive-pack', headers), 401);
      assert.equal(await rawGit('GET', '/secure.git/info/refs?service=git-upload-pack', headers), 401);
      assert.equal(await rawGit('POST', '/secure.git/git-receive-pack', { 'content-type': 'application/x-git-receive-pack-request', ...headers }, pktFlush), 401);
      assert.equal(await rawGit('POST', '/secure.git/git-upload-pack', { 'content-type': 'application/x-git-upload-pack-request', ...headers }, pktFlush), 401);
    }
    const revoked = await push(client, 'secure', created.token);
    assert.notEqual(revoked.code, 0);
    assert.equal(await snapshot(), before);
  });

  it('refuses refs outside branches and tags without hanging, and invalid or reserved app names', async () => {
    const before = await snapshot();
    const odd = await push(client, 'secure', pilot.token, 'HEAD:refs/pilot/odd');
    assert.notEqual(odd.code, 0);
    assert.match(odd.stderr, /only branches and tags can be pushed, not refs\/pilot\/odd/);
    for (const name of ['Bad_Name', 'pilot', 'www', 'x'.repeat(64), 'ends-with-']) {
      const refused = await push(client, name);
      assert.notEqual(refused.code, 0, name);
      assert.match(refused.stderr, /invalid app name|is reserved/, name);
    }
    assert.equal(await snapshot(), before);
  });

  it('takes tag pushes and branch deletions without hanging, and survives clients that hang up mid-request', async () => {
    await client.ok(['tag', 'v1.0']);
    const tag = await push(client, 'secure', pilot.token, 'refs/tags/v1.0');
    assert.equal(tag.code, 0, tag.stderr);
    assertPushed(await push(client, 'secure', pilot.token, 'HEAD:refs/heads/feature'));
    const deleted = await push(client, 'secure', pilot.token, ':refs/heads/feature');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /\[deleted\]\s+feature/);

    const auth = { authorization: `Basic ${Buffer.from(`x:${pilot.token}`).toString('base64')}` };
    for (const service of ['git-upload-pack', 'git-receive-pack']) {
      await new Promise<void>((resolve) => {
        const request = http.request(`${pilot.server.address}/secure.git/${service}`, {
          method: 'POST',
          headers: { ...auth, 'content-type': `application/x-${service}-request`, 'content-length': '1000' },
        });
        request.on('error', () => resolve());
        request.write('0032want ');
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 200);
      });
    }
    assert.equal(await rawGit('POST', '/secure.git/git-receive-pack', { ...auth, 'content-type': 'application/x-git-receive-pack-request', 'content-encoding': 'gzip' }, Buffer.from('x')), 415);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const health = await pilot.server.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200, 'Pilot is still up');
  });

  it('refuses a push far over the size limit before storing it', async () => {
    const before = await snapshot();
    const big = new GitClient(tempDir('big'));
    fs.cpSync(client.workDir, big.workDir, { recursive: true });
    // 3 MiB of incompressible bytes against a 1 MiB limit.
    fs.writeFileSync(path.join(big.workDir, 'blob.bin'), Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, () => Math.floor(Math.random() * 256))));
    await big.commit({ 'index.html': 'big' });
    const result = await push(big, 'secure');
    assert.notEqual(result.code, 0);

    assert.match(result.stderr, /remote: the push is larger than 1 MiB \(PILOT_MAX_PUSH_MB\): nothing was stored/);
    assert.match(result.stderr, /\[remote rejected\] HEAD -> main \(push too large\)/);
    assert.equal(await snapshot(), before);
    // A small pack that unpacks into a large tree: refused when the tree is unpacked, with the reason.
    const zeros = new GitClient(tempDir('zeros'));
    fs.cpSync(client.workDir, zeros.workDir, { recursive: true });
    fs.writeFileSync(path.join(zeros.workDir, 'zeros.bin'), Buffer.alloc(3 * 1024 * 1024));
    await zeros.commit({});
    const unpacked = await push(zeros, 'secure');
    assert.notEqual(unpacked.code, 0);
    assert.match(unpacked.stderr, /the push is larger than 1 MB \(PILOT_MAX_PUSH_MB\): nothing was deployed/);
    const after = JSON.parse(await snapshot()) as { answer: string; releases: { status: string }[] };
    assert.equal(after.answer, (JSON.parse(before) as { answer: string }).answer, 'the live release still serves');
    assert.equal(after.releases.at(-1)?.status, 'failed', 'the attempt is recorded as a failed release');
  });

  it('refuses symlinks that lead out of the tree, a garbled Procfile, and keeps the live release', async () => {
    const before = await snapshot();
    const evil = new GitClient(tempDir('evil'));
    fs.cpSync(client.workDir, evil.workDir, { recursive: true });
    fs.symlinkSync('/etc/passwd', path.join(evil.workDir, 'passwd'));
    await evil.commit({});
    const symlink = await push(evil, 'secure');
    assert.notEqual(symlink.code, 0);
    assert.match(symlink.stderr, /the symlink passwd points outside the repository/);
    await evil.ok(['rm', '-q', 'passwd']);
    fs.symlinkSync('../../../../etc/shadow', path.join(evil.workDir, 'shadow'));
    await evil.commit({});
    const relative = await push(evil, 'secure');
    assert.match(relative.stderr, /the symlink shadow points outside the repository/);
    assert.doesNotMatch(symlink.stderr + relative.stderr, /\/tmp\/|builds\//, 'no server path leaks');
    await evil.ok(['rm', '-q', 'shadow']);
    await evil.commit({ Procfile: 'web: node server.js\n<<<<<<< HEAD\n' });
    const procfile = await push(evil, 'secure');
    assert.match(procfile.stderr, /Procfile line 2 holds a merge-conflict marker/);
    const afterwards = JSON.parse(await snapshot()) as { releases: { status: string }[] };
    const previous = JSON.parse(before) as { releases: { status: string }[]; answer: string };
    assert.equal(afterwards.releases.filter((release) => release.status === 'failed').length, previous.releases.filter((release) => release.status === 'failed').length + 3);
    assert.equal((JSON.parse(await snapshot()) as { answer: string }).answer, previous.answer);
  });

  it('refuses domains carrying Caddyfile syntax, the control-plane host and taken domains', async () => {
    const before = await snapshot();
    for (const domain of ['a.example.com {\n}', 'a.example.com\nimport /etc/passwd', 'a b.example.com', 'a.example.com#x', '"a.example.com"', 'import', `pilot.${pilot.domain}`, '*.example.com']) {
      const refused = await api('POST', '/apps/secure/domains', { domain });
      assert.equal(refused.statusCode, 400, `${JSON.stringify(domain)}: ${refused.body}`);
      assert.equal(refused.json().error, 'PILOT_INVALID_INPUT');
    }
    assert.equal(await snapshot(), before);
  });

  it('passes config values with newlines and shell syntax to the app as the exact bytes, never to a shell or the Caddyfile', async () => {
    const weird = "line one\nline two $(touch /tmp/pwned) `id` ; rm -rf / && echo {import x} \"quoted\" 'single' \\ #";
    const set = await api('PATCH', '/apps/secure/config', { set: { WEIRD: weird } });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal((await httpsGet({ host: `secure.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile })).body, weird);
    assert.doesNotMatch(fs.readFileSync(pilot.server.paths.caddyfile, 'utf8'), /line two|import x/);
    const badKey = await api('PATCH', '/apps/secure/config', { set: { 'A=B': 'x' } });
    assert.equal(badKey.statusCode, 400);
  });

  it('answers malformed JSON, wrong types, unknown fields and oversized bodies with a 4xx JSON error', async () => {
    const before = await snapshot();
    const cases: [string, Awaited<ReturnType<typeof api>>][] = [
      ['malformed JSON', await api('POST', '/apps', '{"name": ')],
      ['wrong type', await api('POST', '/apps', { name: 42 })],
      ['unknown field', await api('POST', '/apps', { name: 'fine', admin: true })],
      ['unknown field in config', await api('PATCH', '/apps/secure/config', { set: {}, shell: 'x' })],
      ['oversized body', await api('POST', '/apps', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }))],
    ];
    for (const [what, response] of cases) {
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${what}: ${response.statusCode} ${response.body}`);
      const body = response.json() as { error: string; message: string };
      assert.ok(body.error && body.message, `${what}: ${response.body}`);
    }
    assert.equal(cases[4]?.[1].statusCode, 413);
    assert.equal(await snapshot(), before);
  });

  it('keeps the deploy endpoint off the network, and app containers unprivileged, without the Docker socket or published ports', async () => {
    const socket = fs.statSync(pilot.server.paths.deploySocket);
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal((await pilot.server.app.inject({ method: 'POST', url: '/deploy?app=secure' })).statusCode, 404);

    const containers = await docker.listContainers({ filters: { label: [`pilot.instance=${pilot.server.config.instance}`, 'pilot.app=secure'] } });
    assert.ok(containers.length > 0);
    for (const summary of containers) {
      const info = await docker.getContainer(summary.Id).inspect();
      assert.equal(info.HostConfig.Privileged, false);
      assert.deepEqual(info.HostConfig.PortBindings ?? {}, {});
      assert.equal(info.HostConfig.PublishAllPorts, false);
      const mounts = info.Mounts.map((mount) => mount.Source);
      assert.ok(!mounts.some((source) => source.includes('docker.sock')), `mounts: ${mounts.join(', ')}`);
      assert.deepEqual(summary.Ports.filter((port) => port.PublicPort), []);
    }
  });
});
