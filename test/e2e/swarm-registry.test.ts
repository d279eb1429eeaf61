import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { integrationSkipReason, tempDir, testInstanceName, testLogger } from '../helpers/integration.js';
import { swarmCluster, type SwarmCluster, type SwarmNode } from '../helpers/swarm-cluster.js';
import { ensureRegistryImage, loadImageInto } from '../helpers/registry-image.js';
import { runCommand } from '../helpers/command.js';
import { SwarmRegistry } from '../../src/adapters/registry/registry.js';
import { installJoinCommand } from '../../src/services/nodes.js';

const skip = integrationSkipReason();
const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An answer of the registry's API, trusting only Pilot's CA. */
function registryGet(address: string, path: string, ca: string, auth: string, accept?: string): Promise<{ status: number; body: string }> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const request = https.request({ host, port, path, ca, auth, agent: false, headers: accept ? { Accept: accept } : {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('swarm mode: the registry on the manager brings release images to every node', { skip }, () => {
  let cluster: SwarmCluster;
  let docker: Docker;
  let registry: SwarmRegistry;
  let address: string;
  const instance = testInstanceName();
  const dataDir = tempDir('swarm-registry');
  const app = 'shop';
  const references: string[] = [];
  const ca = () => fs.readFileSync(`${dataDir}/ca.crt`, 'utf8');
  const password = () => fs.readFileSync(`${dataDir}/password`, 'utf8').trim();
  let registryImage: string;

  /** `docker ...` inside a node container, with `input` on its stdin. */
  const inNode = (node: SwarmNode, args: readonly string[], input?: string) => runCommand('docker', ['exec', ...(input === undefined ? [] : ['-i']), node.container, ...args], input);

  before(async () => {
    cluster = await swarmCluster();
    await cluster.waitReady();
    registryImage = await ensureRegistryImage();
    await loadImageInto(cluster.manager.container, registryImage);
    const engine = new URL(await cluster.managerEngine());
    docker = new Docker({ host: engine.hostname, port: Number(engine.port) });
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const host = await cluster.address(cluster.manager);
    address = `${host}:${port}`;
    registry = new SwarmRegistry(docker, { instance, image: registryImage, host, port, dir: dataDir }, testLogger());
    // Three releases built on the manager, each with a layer of its own.
    for (const version of [1, 2, 3]) {
      const built = await inNode(cluster.manager, ['docker', 'build', '-q', '-t', `${instance}/${app}:v${version}`, '-'], `FROM ${registryImage}\nRUN echo release ${version} > /release\n`);
      assert.equal(built.code, 0, built.output);
    }
  });

  after(async () => {
    if (cluster) await removeFreshServer();
    for (const node of cluster?.nodes ?? []) {
      await inNode(node, ['sh', '-c', `docker logout ${address}; rm -rf /etc/docker/certs.d/${address}`]);
      for (const reference of references) await inNode(node, ['docker', 'rmi', reference]);
    }
    if (cluster) {
      await inNode(cluster.manager, ['docker', 'rm', '-f', `${instance}-registry`]);
      await inNode(cluster.manager, ['docker', 'volume', 'rm', `${instance}-registry-data`]);
      for (const version of [1, 2, 3]) await inNode(cluster.manager, ['docker', 'rmi', `${instance}/${app}:v${version}`]);
      await inNode(cluster.manager, ['docker', 'rmi', registryImage]);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the registry with TLS from its own CA and a password, and the manager trusts the CA', async () => {
    await registry.start();
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    const unauthenticated = await registryGet(address, '/v2/', ca(), '');
    assert.equal(unauthenticated.status, 401);
    const trusted = await inNode(cluster.manager, ['cat', `/etc/docker/certs.d/${address}/ca.crt`]);
    assert.equal(trusted.output, ca());
    assert.deepEqual(registry.pullAuth(), { username: 'pilot', password: password(), serveraddress: address });
  });

  it('publishes images built on the manager, and every worker pulls them through the registry', async () => {
    for (const version of [1, 2, 3]) {
      const lines: string[] = [];
      references.push(await registry.publish(`${instance}/${app}:v${version}`, (line) => lines.push(line)));
      assert.ok(lines.some((line) => line.includes(`${address}/${instance}/${app}:v${version}`)), lines.join('\n'));
    }
    assert.deepEqual(references, [1, 2, 3].map((version) => `${address}/${instance}/${app}:v${version}`));
    for (const worker of cluster.workers) {
      // What install.sh --join does on a new server: the CA under certs.d (no engine restart).
      const trusted = await inNode(worker, ['sh', '-c', `mkdir -p /etc/docker/certs.d/${address} && cat > /etc/docker/certs.d/${address}/ca.crt`], ca());
      assert.equal(trusted.code, 0, trusted.output);
      const login = await inNode(worker, ['docker', 'login', '-u', 'pilot', '--password-stdin', address], password());
      assert.equal(login.code, 0, login.output);
      const pulled = await inNode(worker, ['docker', 'pull', references[2] as string]);
      assert.equal(pulled.code, 0, pulled.output);
      const release = await inNode(worker, ['docker', 'run', '--rm', '--entrypoint', 'cat', references[2] as string, '/release']);
      assert.equal(release.output.trim(), 'release 3');
    }
  });

  it('refuses to publish an image the manager lacks, or one that is no release image, saying so', async () => {
    await assert.rejects(registry.publish(`${instance}/${app}:v9`, () => undefined), /cannot push .*:v9 to the registry: the manager's engine has no such image/);
    await assert.rejects(registry.publish('registry.example.com/other:1', () => undefined), /it is not a release image/);
  });

  it('refuses a wrong password, from a worker and over the API', async () => {
    const worker = cluster.workers[0] as SwarmNode;
    const login = await inNode(worker, ['docker', 'login', '-u', 'pilot', '--password-stdin', address], `${password()}-wrong`);
    assert.notEqual(login.code, 0);
    assert.match(login.output, /unauthorized|401/i);
    const api = await registryGet(address, '/v2/_catalog', ca(), `pilot:${password()}-wrong`);
    assert.equal(api.status, 401);
  });

  it('collect keeps the kept tags and deletes the rest, layers included', async () => {
    const auth = `pilot:${password()}`;
    const manifest = await registryGet(address, `/v2/${instance}/${app}/manifests/v1`, ca(), auth, 'application/vnd.docker.distribution.manifest.v2+json');
    const ownLayer = (JSON.parse(manifest.body) as { layers: { digest: string }[] }).layers.at(-1)?.digest;
    assert.ok(ownLayer, manifest.body);
    assert.equal((await registryGet(address, `/v2/${instance}/${app}/blobs/${ownLayer}`, ca(), auth)).status, 200);

    await registry.collect(app, () => ['v2', 'v3']);

    const tags = JSON.parse((await registryGet(address, `/v2/${instance}/${app}/tags/list`, ca(), auth)).body) as { tags: string[] };
    assert.deepEqual([...tags.tags].sort(), ['v2', 'v3']);
    assert.equal((await registryGet(address, `/v2/${instance}/${app}/blobs/${ownLayer}`, ca(), auth)).status, 404, "v1's own layer is garbage-collected");
    // What is kept still pulls.
    const worker = cluster.workers[1] as SwarmNode;
    const pulled = await inNode(worker, ['docker', 'pull', references[1] as string]);
    assert.equal(pulled.code, 0, pulled.output);
  });

  /** A fourth machine, fresh but for Docker installed (the cluster's node image), on the cluster's network. */
  const fresh = { container: `${instance}-fresh-server`, hostname: `${instance}-fresh` };
  async function removeFreshServer(): Promise<void> {
    await runCommand('docker', ['exec', fresh.container, 'docker', 'swarm', 'leave', '--force']);
    await runCommand('docker', ['rm', '-f', '-v', fresh.container]);
    await inNode(cluster.manager, ['docker', 'node', 'rm', '--force', fresh.hostname]);
  }
  const installOnFresh = (command: string) => runCommand('docker', ['exec', fresh.container, 'bash', '-c', `${command.replace(/^\.\/install\.sh/, 'bash /src/install.sh')} -v`]);

  it('install.sh --join adds a fresh server: it trusts the registry only with the right fingerprint, joins, and pulls', async () => {
    const nodeImage = (await runCommand('docker', ['inspect', '-f', '{{.Config.Image}}', cluster.manager.container])).output.trim();
    const started = await runCommand('docker', [
      'run', '-d', '--name', fresh.container, '--hostname', fresh.hostname, '--network', cluster.name,
      '--cap-add=ALL', '--cap-drop=SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/var/lib/docker:exec', '--tmpfs', '/run:exec',
      '-v', `${CHECKOUT}:/src:ro`, nodeImage, 'sleep', 'infinity',
    ]);
    assert.equal(started.code, 0, started.output);
    const token = (await inNode(cluster.manager, ['docker', 'swarm', 'join-token', '-q', 'worker'])).output.trim();
    const managerAddress = await cluster.address(cluster.manager);
    const settings = registry.joinSettings();
    assert.ok(settings);
    // The line `pilot nodes:join-command` prints.
    const line = installJoinCommand(`docker swarm join --token ${token} ${managerAddress}:2377`, settings);
    assert.ok(line);

    const impostor = await installOnFresh(line.replace(settings.caFingerprint, 'AA'.repeat(32)));
    assert.notEqual(impostor.code, 0, impostor.output);
    assert.match(impostor.output, /presents a CA with SHA-256 [0-9A-F]{64}, not the A{64} given: not trusted/);
    assert.equal((await runCommand('docker', ['exec', fresh.container, 'test', '-e', `/etc/docker/certs.d/${address}/ca.crt`])).code, 1, 'no CA trusted');
    // Refused before the engine is started: not in a swarm (`docker info` may not even answer).
    assert.notEqual((await runCommand('docker', ['exec', fresh.container, 'docker', 'info', '--format', '{{.Swarm.LocalNodeState}}'])).output.trim(), 'active');

    const joined = await installOnFresh(line);
    assert.equal(joined.code, 0, joined.output);
    assert.match(joined.output, /this server is a node of the swarm/);
    const listed = await inNode(cluster.manager, ['docker', 'node', 'ls', '--filter', `name=${fresh.hostname}`, '--format', '{{.Hostname}} {{.Status}}']);
    assert.equal(listed.output.trim(), `${fresh.hostname} Ready`);
    const login = await runCommand('docker', ['exec', '-i', fresh.container, 'docker', 'login', '-u', 'pilot', '--password-stdin', address], password());
    assert.equal(login.code, 0, login.output);
    const pulled = await runCommand('docker', ['exec', fresh.container, 'docker', 'pull', references[2] as string]);
    assert.equal(pulled.code, 0, pulled.output);
  });
});
