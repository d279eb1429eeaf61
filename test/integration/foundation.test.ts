import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { createDockerEngine } from '../../src/adapters/docker.js';
import { createTemplateRenderer } from '../../src/adapters/templates.js';
import { buildCaddyfileContext } from '../../src/pipeline/routes.js';
import { adminAddressForCaddyfile } from '../../src/adapters/caddy/admin.js';
import { GitClient, httpsGet, integrationSkipReason, localImages, remoteUrl, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

describe('foundation: real Docker, Caddy and git', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  it('reports the database, Docker and Caddy as healthy on GET /health', async () => {
    const response = await pilot.server.app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      status: 'ok',
      checks: { database: { ok: true }, docker: { ok: true }, caddy: { ok: true } },
    });
  });

  it('starts a container from the local Node image and reaches it through Caddy over HTTPS', async () => {
    const engine = createDockerEngine(new Docker());
    const instance = pilot.server.config.instance;
    const network = `${instance}-net`;
    await engine.ensureNetwork(network, { 'pilot.instance': instance });
    const containerId = await engine.startContainer({
      name: `${instance}-harness-probe`,
      image: localImages().nodeImage,
      env: { PORT: '5000', GREETING: `hello from ${instance}` },
      labels: { 'pilot.instance': instance },
      network,
      extraNetworks: [],
      aliases: [],
      capAdd: ['SETUID', 'SETGID'],
      pidsLimit: 64,
      memoryBytes: 128 * 1024 * 1024,
      nanoCpus: 500_000_000,
      logMaxSize: '1m',
      logMaxFiles: 1,
      restartPolicy: 'no',
      mounts: [],
      command: [
        'node',
        '-e',
        "require('http').createServer((q, s) => s.end(process.env.GREETING)).listen(process.env.PORT)",
      ],
    });
    const container = await waitFor('container address', async () => (await engine.inspectContainer(containerId))?.ip);
    await engine.keepRunning(containerId);
    const policy = execFileSync('docker', ['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}', containerId]).toString().trim();
    assert.equal(policy, 'unless-stopped', 'a serving container survives crashes and engine restarts');

    const templates = createTemplateRenderer();
    const caddyfile = templates.renderCaddyfile(
      buildCaddyfileContext(
        {
          adminAddress: adminAddressForCaddyfile(pilot.server.caddyAdmin.endpoint),
          domain: 'localhost',
          httpPort: pilot.httpPort,
          httpsPort: pilot.httpsPort,
          tls: 'internal',
          acmeEmail: undefined,
          controlPlaneUpstream: undefined,
          streamCloseDelay: undefined,
        },
        [{ id: 1, name: 'probe', hosts: ['probe.localhost'], upstreams: [`${container}:5000`] }],
      ),
    );
    await pilot.server.caddyAdmin.load(caddyfile);

    const answer = await waitFor('the container through Caddy', async () => {
      const response = await httpsGet({ host: 'probe.localhost', port: pilot.httpsPort, ca: pilot.caFile });
      return response.status === 200 ? response : undefined;
    });
    assert.equal(answer.body, `hello from ${instance}`);
    await pilot.server.routes.reload();
  });

  it('accepts a push over HTTP from the real git client into node-git-server inside Fastify', async () => {
    const client = new GitClient(tempDir('push'));
    await client.init();
    const sha = await client.commit({ 'README.md': '# hello\n' }, 'first');
    const url = remoteUrl(pilot.server.address, 'harness-app', pilot.token);
    // A branch other than main is stored without deploying.
    const result = await client.run(['push', url, 'HEAD:refs/heads/feature']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /only main deploys, nothing was deployed/);

    const bare = path.join(pilot.server.paths.repositories, 'harness-app.git');
    assert.equal(execFileSync('git', ['-C', bare, 'rev-parse', 'refs/heads/feature']).toString().trim(), sha);
    assert.ok(fs.existsSync(path.join(bare, 'hooks', 'pre-receive')), 'the deploy hook is installed');
  });

  it('refuses a push with a wrong token and stores nothing', async () => {
    const client = new GitClient(tempDir('push-denied'));
    await client.init();
    await client.commit({ 'a.txt': 'a' });
    const result = await client.run(['push', remoteUrl(pilot.server.address, 'denied-app', 'not-a-token'), 'HEAD:refs/heads/feature']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Authentication failed|401/);
    assert.equal(fs.existsSync(path.join(pilot.server.paths.repositories, 'denied-app.git')), false);
  });

  it('refuses an invalid app name with a message saying what a valid one looks like', async () => {
    const client = new GitClient(tempDir('push-bad-name'));
    await client.init();
    await client.commit({ 'a.txt': 'a' });
    const result = await client.run(['push', remoteUrl(pilot.server.address, 'Bad_Name', pilot.token), 'HEAD:refs/heads/main']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /remote error: invalid app name "Bad_Name": use 1 to 63 lowercase letters/);
  });

  it('answers 503 on /health and names Caddy when Caddy is down', async () => {
    await pilot.server.managedCaddy?.terminate();
    const response = await pilot.server.app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 503);
    const report = response.json() as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks.caddy?.ok, false);
    assert.equal(report.checks.database?.ok, true);
    assert.equal(report.checks.docker?.ok, true);
  });
});
