import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ImageRegistry } from '../../../src/domain/ports.js';
import { AGENT_SCRIPT } from '../../../src/runtime/swarm-agent-script.js';
import { AGENT_SPEC_LABEL, SwarmAgent, agentBaseImages, agentServiceSpec, ensureAgentSecret } from '../../../src/runtime/swarm-agent.js';

const SECRET = 's'.repeat(64);
const CONTAINER = 'c0ffee'.repeat(4);
const ENGINE_STATS = { read: '2026-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 } }, memory_stats: { usage: 50 * 1024 ** 2, limit: 256 * 1024 ** 2, stats: { inactive_file: 10 * 1024 ** 2 } }, networks: { eth0: { rx_bytes: 7, tx_bytes: 9 } } };

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const quiet = () => undefined;
  return { warnings, warn: (_fields: unknown, message: string) => void warnings.push(message), info: quiet, debug: quiet, error: quiet } as unknown as Logger & { warnings: string[] };
}

const registry: ImageRegistry = { publish: async (image) => `10.0.0.5:5000/${image}`, pullAuth: () => ({ username: 'pilot', password: 'pw', serveraddress: '10.0.0.5:5000' }), collect: async () => undefined };

describe("the stats agent's service (a value)", () => {
  const spec = agentServiceSpec({ instance: 'pt', image: '10.0.0.5:5000/pt/pilot:agent-abc', port: 7079, secret: SECRET });

  it('is one global service of the instance, a task on every node, its spec digest as a label', () => {
    assert.equal(spec.Name, 'pt-agent');
    assert.deepEqual(spec.Mode, { Global: {} });
    assert.equal(spec.Labels['pilot.instance'], 'pt');
    assert.match(spec.Labels[AGENT_SPEC_LABEL] ?? '', /^[0-9a-f]{16}$/);
    // Its containers are no app's processes: not labelled as the instance's.
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Labels, { 'pilot.agent': 'pt' });
    assert.notEqual(agentServiceSpec({ instance: 'pt', image: 'other', port: 7079, secret: SECRET }).Labels[AGENT_SPEC_LABEL], spec.Labels[AGENT_SPEC_LABEL]);
  });

  it('publishes its port in host mode on every node, never through the ingress mesh, and updates stop-first (the port is held)', () => {
    assert.deepEqual(spec.EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 7079, PublishedPort: 7079, PublishMode: 'host' }]);
    assert.equal(spec.UpdateConfig.Order, 'stop-first');
  });

  it("mounts the engine's socket read-only, and runs the script with node, its secret and instance in the environment", () => {
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/var/run/docker.sock', ReadOnly: true }]);
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Command, ['node', '-e', AGENT_SCRIPT]);
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Env.sort(), [
      'PILOT_AGENT_DOCKER_SOCKET=/var/run/docker.sock', 'PILOT_AGENT_INSTANCE=pt', 'PILOT_AGENT_PORT=7079', `PILOT_AGENT_SECRET=${SECRET}`,
    ]);
    assert.equal(spec.TaskTemplate.ContainerSpec.Image, '10.0.0.5:5000/pt/pilot:agent-abc');
  });

  it('runs from PILOT_NODE_IMAGE, its default Node major first when it is a template', () => {
    assert.deepEqual(agentBaseImages('pilot-local/node:20'), ['pilot-local/node:20']);
    const templated = agentBaseImages('node:{{major}}-bookworm-slim');
    assert.equal(templated[0], 'node:24-bookworm-slim');
    assert.ok(templated.includes('node:20-bookworm-slim'));
  });

  it('keeps its secret in the data directory, made once, readable by Pilot alone', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-agent-')), 'swarm-agent-secret');
    const secret = ensureAgentSecret(file);
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(ensureAgentSecret(file), secret);
  });
});

describe('SwarmAgent.start (a fake manager)', () => {
  function fakeManager(existingLabel?: string) {
    const calls: string[] = [];
    const docker = {
      getImage: (name: string) => ({
        inspect: async () => {
          if (name !== 'node:24-bookworm-slim') throw Object.assign(new Error('no such image'), { statusCode: 404 });
          return { Id: 'sha256:0123456789abcdef' };
        },
        tag: async ({ repo, tag }: { repo: string; tag: string }) => void calls.push(`tag ${name} ${repo}:${tag}`),
      }),
      getService: (name: string) => ({
        inspect: async () => {
          if (existingLabel === undefined) throw Object.assign(new Error('no such service'), { statusCode: 404 });
          return { ID: `id-${name}`, Version: { Index: 4 }, Spec: { Labels: { [AGENT_SPEC_LABEL]: existingLabel } } };
        },
        update: async (spec: { Name: string; version: number; authconfig?: unknown }) => void calls.push(`update ${spec.Name} at ${spec.version} with auth ${String(Boolean(spec.authconfig))}`),
      }),
      createService: async (auth: { username?: string }, spec: { Name: string; TaskTemplate: { ContainerSpec: { Image: string } } }) =>
        void calls.push(`create ${spec.Name} of ${spec.TaskTemplate.ContainerSpec.Image} with auth ${String(auth.username)}`),
    };
    return { docker: docker as unknown as Docker, calls };
  }
  const options = { instance: 'pt', nodeImage: 'node:{{major}}-bookworm-slim', port: 7079, secret: SECRET, logger: recordingLogger() };

  it("publishes the node image the manager has under the instance's agent tag and creates the service with the registry's pull auth", async () => {
    const manager = fakeManager();
    await new SwarmAgent(manager.docker, registry, options).start();
    assert.deepEqual(manager.calls, [
      'tag node:24-bookworm-slim pt/pilot:agent-0123456789ab',
      'create pt-agent of 10.0.0.5:5000/pt/pilot:agent-0123456789ab with auth pilot',
    ]);
  });

  it('adopts a service of the same spec, and updates one of another', async () => {
    const label = agentServiceSpec({ instance: 'pt', image: '10.0.0.5:5000/pt/pilot:agent-0123456789ab', port: 7079, secret: SECRET }).Labels[AGENT_SPEC_LABEL];
    const same = fakeManager(label);
    await new SwarmAgent(same.docker, registry, options).start();
    assert.deepEqual(same.calls.filter((call) => !call.startsWith('tag')), []);
    const other = fakeManager('0000000000000000');
    await new SwarmAgent(other.docker, registry, options).start();
    assert.deepEqual(other.calls.filter((call) => !call.startsWith('tag')), ['update pt-agent at 4 with auth true']);
  });

  it('a Pilot stopping while the image is still being published creates no service', async () => {
    const manager = fakeManager();
    let published: (reference: string) => void = () => undefined;
    const slow: ImageRegistry = { ...registry, publish: () => new Promise((resolve) => (published = resolve)) };
    const agent = new SwarmAgent(manager.docker, slow, options);
    const starting = agent.start();
    await new Promise((resolve) => setImmediate(resolve));
    await agent.stop();
    published('10.0.0.5:5000/pt/pilot:agent-0123456789ab');
    await starting;
    assert.deepEqual(manager.calls.filter((call) => !call.startsWith('tag')), []);
  });
});

/** The agent script run by node, against a fake engine on a unix socket; answers its port. */
async function runAgentScript(t: { after(fn: () => unknown): void }, engine: http.RequestListener): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-agent-'));
  const socket = path.join(dir, 'docker.sock');
  const fakeEngine = http.createServer(engine);
  await new Promise<void>((resolve) => fakeEngine.listen(socket, resolve));
  const child = spawn(process.execPath, ['-e', AGENT_SCRIPT], {
    env: { PILOT_AGENT_SECRET: SECRET, PILOT_AGENT_INSTANCE: 'pt', PILOT_AGENT_PORT: '0', PILOT_AGENT_DOCKER_SOCKET: socket },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGKILL');
    fakeEngine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const port = /on port (\d+)/.exec(output)?.[1];
    if (port) return Number(port);
  }
  throw new Error(`the agent script ended: ${output}`);
}

function get(port: number, urlPath: string, authorization?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: authorization ? { authorization } : {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the agent script (run by node against a fake engine on a unix socket)', () => {
  const asked: string[] = [];
  const fakeEngine: http.RequestListener = (request, response) => {
    asked.push(request.url ?? '');
    const labels: Record<string, Record<string, string>> = { [CONTAINER]: { 'pilot.instance': 'pt', 'pilot.app': 'shop' }, ['ba5e'.repeat(6)]: { 'pilot.instance': 'other' } };
    const id = /^\/containers\/([0-9a-f]+)\//.exec(request.url ?? '')?.[1] ?? '';
    if (!labels[id]) return void response.writeHead(404).end('{"message":"no such container"}');
    if (request.url?.endsWith('/json')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: id, Config: { Labels: labels[id] } }));
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ENGINE_STATS));
  };

  it('refuses a request without the secret or with another, and answers nothing but GET /stats/<id>', async (t) => {
    const port = await runAgentScript(t, fakeEngine);
    asked.length = 0;
    assert.equal((await get(port, `/stats/${CONTAINER}`)).status, 401);
    assert.equal((await get(port, `/stats/${CONTAINER}`, `Bearer ${'x'.repeat(64)}`)).status, 401);
    assert.equal((await get(port, `/stats/${CONTAINER}`, SECRET)).status, 401, 'the bearer scheme is part of it');
    assert.equal((await get(port, '/containers/json', `Bearer ${SECRET}`)).status, 404);
    assert.equal((await get(port, `/stats/${CONTAINER}/../../json`, `Bearer ${SECRET}`)).status, 404);
    assert.deepEqual(asked, [], 'the engine was never asked');
  });

  it("answers 404 for another instance's container or none, having inspected it, and never reads its stats", async (t) => {
    const port = await runAgentScript(t, fakeEngine);
    asked.length = 0;
    assert.equal((await get(port, `/stats/${'ba5e'.repeat(6)}`, `Bearer ${SECRET}`)).status, 404);
    assert.equal((await get(port, `/stats/${'dead'.repeat(6)}`, `Bearer ${SECRET}`)).status, 404);
    assert.deepEqual(asked, [`/containers/${'ba5e'.repeat(6)}/json`, `/containers/${'dead'.repeat(6)}/json`]);
  });

  it("passes the engine's one-shot stats of an instance's container through, which SwarmAgent reads as Pilot's stats", async (t) => {
    const port = await runAgentScript(t, fakeEngine);
    asked.length = 0;
    const answer = await get(port, `/stats/${CONTAINER}`, `Bearer ${SECRET}`);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), ENGINE_STATS);
    assert.deepEqual(asked, [`/containers/${CONTAINER}/json`, `/containers/${CONTAINER}/stats?stream=false&one-shot=true`]);
    const agent = new SwarmAgent({} as Docker, registry, { instance: 'pt', nodeImage: 'n', port, secret: SECRET, logger: recordingLogger() });
    assert.deepEqual(await agent.stats({ name: 'worker1', address: '127.0.0.1' }, CONTAINER), {
      cpuSeconds: 2.5, memoryBytes: 40 * 1024 ** 2, memoryLimitBytes: 256 * 1024 ** 2, networkInBytes: 7, networkOutBytes: 9,
    });
  });
});

describe('SwarmAgent.stats', () => {
  const servers: http.Server[] = [];
  after(() => servers.forEach((server) => server.close()));

  async function listening(handler: http.RequestListener): Promise<number> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  it('gives undefined, never a rejection, for a node whose agent does not answer, and tells it once per failure streak', async () => {
    // A port that was just free: nothing listens there.
    const port = await listening(() => undefined);
    await new Promise<void>((resolve) => servers.pop()?.close(() => resolve()));
    const logger = recordingLogger();
    const agent = new SwarmAgent({} as Docker, registry, { instance: 'pt', nodeImage: 'n', port, secret: SECRET, logger });
    const node = { name: 'worker1', address: '127.0.0.1' };
    assert.equal(await agent.stats(node, CONTAINER), undefined);
    assert.equal(await agent.stats(node, CONTAINER), undefined);
    assert.equal(logger.warnings.length, 1, logger.warnings.join('\n'));
    assert.match(logger.warnings[0] ?? '', /does not answer/);
  });

  it('gives undefined for a refused secret (logged) and for a container gone (not logged); a node that answers again starts a new streak', async () => {
    let status = 401;
    const port = await listening((request, response) => {
      assert.equal(request.headers.authorization, `Bearer ${SECRET}`);
      response.writeHead(status).end(status === 200 ? JSON.stringify(ENGINE_STATS) : 'no');
    });
    const logger = recordingLogger();
    const agent = new SwarmAgent({} as Docker, registry, { instance: 'pt', nodeImage: 'n', port, secret: SECRET, logger });
    const node = { name: 'worker1', address: '127.0.0.1' };
    assert.equal(await agent.stats(node, CONTAINER), undefined);
    assert.equal(logger.warnings.length, 1);
    status = 404;
    assert.equal(await agent.stats(node, CONTAINER), undefined);
    status = 200;
    assert.equal((await agent.stats(node, CONTAINER))?.cpuSeconds, 2.5);
    status = 500;
    assert.equal(await agent.stats(node, CONTAINER), undefined);
    assert.equal(logger.warnings.length, 2, 'a new streak after answers');
  });
});
