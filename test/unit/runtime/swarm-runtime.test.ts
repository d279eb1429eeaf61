import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import type { ContainerEngine, ContainerState, ImageRegistry, ReleaseRuntime, ReplaceRequest } from '../../../src/domain/ports.js';
import { DockerRuntime } from '../../../src/runtime/docker-runtime.js';
import { SwarmRuntime } from '../../../src/runtime/swarm-runtime.js';
import type { SwarmServiceSpec } from '../../../src/runtime/swarm-spec.js';
import type { NodeStatsReader } from '../../../src/runtime/swarm-agent.js';

interface FakeService {
  ID: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  UpdateStatus?: { State: string; StartedAt: string };
}

/** The part of a swarm manager replace() speaks to: services whose tasks run their spec at once; `failing` updates are rolled back by "Swarm". */
function fakeSwarm(failing: (spec: SwarmServiceSpec) => boolean) {
  const services = new Map<string, FakeService>();
  const updates: string[] = [];
  const serviceFor = (key: string): FakeService => {
    const service = services.get(key) ?? [...services.values()].find((candidate) => candidate.ID === key);
    if (!service) throw Object.assign(new Error(`no service ${key}`), { statusCode: 404 });
    return service;
  };
  // Overlays by name and id; what joined or left them by hand (one-offs, Caddy).
  const networks = new Map([['pt-shop-net', 'n-shop'], ['pt-billing-net', 'n-billing']]);
  // Bridges a single-host Pilot left, by name, with the containers on them.
  const bridges = new Map<string, string[]>();
  const attached: string[] = [];
  const docker = {
    listNetworks: async () => [...networks.keys()].map((Name) => ({ Name, Scope: bridges.has(Name) ? 'local' : 'swarm' })),
    createNetwork: async ({ Name, Driver }: { Name: string; Driver: string }) => {
      if (networks.has(Name)) throw Object.assign(new Error(`network ${Name} exists`), { statusCode: 409 });
      networks.set(Name, `n-${Driver}-${Name}`);
      attached.push(`create ${Driver} ${Name}`);
    },
    getNetwork: (name: string) => ({
      inspect: async () => {
        if (!networks.has(name)) throw Object.assign(new Error(`no network ${name}`), { statusCode: 404 });
        const containers = bridges.get(name)?.map((id) => [id, { Name: id }] as const) ?? [['caddy', { Name: 'pt-caddy' }] as const];
        return { Id: networks.get(name), Containers: Object.fromEntries(containers) };
      },
      connect: async ({ Container }: { Container: string }) => void attached.push(`connect ${Container} ${name}`),
      disconnect: async ({ Container }: { Container: string }) => void attached.push(`disconnect ${Container} ${name}`),
      remove: async () => {
        attached.push(`remove ${name}`);
        networks.delete(name);
        bridges.delete(name);
      },
    }),
    getImage: () => ({ inspect: async () => ({ Config: { Cmd: ['node', 'server.js'] } }) }),
    listServices: async ({ filters }: { filters: { label: string[] } }) =>
      structuredClone([...services.values()].filter((service) => filters.label.every((label) => {
        const [key = '', value] = label.split('=');
        return service.Spec.Labels[key] === value;
      }))),
    createService: async ({ authconfig: _auth, ...spec }: SwarmServiceSpec & { authconfig?: unknown }) => {
      services.set(spec.Name, { ID: `id-${spec.Name}`, Version: { Index: 1 }, Spec: spec });
    },
    getService: (key: string) => ({
      inspect: async () => structuredClone(serviceFor(key)),
      remove: async () => void services.delete(serviceFor(key).Spec.Name),
      update: async ({ version, authconfig: _auth, ...spec }: SwarmServiceSpec & { version: number; authconfig?: unknown }) => {
        const service = serviceFor(key);
        assert.equal(version, service.Version.Index, 'updated from the version read');
        updates.push(`${spec.Name} v${spec.Labels['pilot.release']}`);
        const previous = service.Spec;
        service.Version.Index += 1;
        service.Spec = failing(spec) ? previous : spec;
        service.UpdateStatus = { State: failing(spec) ? 'rollback_completed' : 'completed', StartedAt: new Date().toISOString() };
      },
    }),
    listTasks: async ({ filters }: { filters: { service: string[] } }) => {
      const service = services.get(filters.service[0] ?? '');
      if (!service) return [];
      return Array.from({ length: service.Spec.Mode.Replicated.Replicas }, (_, index) => ({
        ID: `${service.Spec.Name}-${index}`, ServiceID: service.ID, Slot: index + 1, DesiredState: 'running',
        Spec: { ContainerSpec: { Labels: service.Spec.TaskTemplate.ContainerSpec.Labels }, ForceUpdate: service.Spec.TaskTemplate.ForceUpdate },
        Status: { State: 'running' },
      }));
    },
  };
  return { docker: docker as unknown as Docker, services, updates, networks, bridges, attached };
}

const registry: ImageRegistry = { publish: async (image) => `registry.test/${image}`, pullAuth: () => undefined, collect: async () => undefined };

function request(version: number, output: string[], app = 'shop'): ReplaceRequest {
  const runtime: ReleaseRuntime = {
    instance: 'pt', app, version, image: `pt/shop:v${version}`, config: {}, port: 5000,
    memoryBytes: 1, cpus: 1, volumes: [], linkedNetworks: [], capabilities: [], pidsLimit: 1,
  };
  return {
    runtime, processes: { web: null, worker: 'node worker.js' }, quantities: { web: 2, worker: 1 }, slot: version % 2 ? 'blue' : 'green', renew: true,
    checks: { port: 5000, healthChecks: [], healthTimeoutSeconds: 1, settleSeconds: 0 }, drainSeconds: 0, stopTimeoutSeconds: 1,
    onOutput: (line) => output.push(line),
  };
}

const releaseOf = (service: FakeService | undefined): string | undefined => service?.Spec.Labels['pilot.release'];

describe('SwarmRuntime.replace (a fake swarm)', () => {
  it('a later process type that fails puts the types updated before it back on the release they ran', async () => {
    const swarm = fakeSwarm((spec) => spec.Name === 'pt-shop-worker' && spec.Labels['pilot.release'] === '2');
    const runtime = new SwarmRuntime(swarm.docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const output: string[] = [];
    await runtime.replace(request(1, output));
    assert.deepEqual([...swarm.services.values()].map(releaseOf), ['1', '1']);

    await assert.rejects(runtime.replace(request(2, output)), /rolled it back/);

    assert.deepEqual(swarm.updates, ['pt-shop-web v2', 'pt-shop-worker v2', 'pt-shop-web v1']);
    assert.equal(releaseOf(swarm.services.get('pt-shop-web')), '1');
    assert.equal(releaseOf(swarm.services.get('pt-shop-worker')), '1');
    assert.equal(swarm.services.get('pt-shop-web')?.Spec.TaskTemplate.ForceUpdate, 1, 'the spec it ran, not a new one');
    assert.ok(output.includes('Rolling pt-shop-web back to v1'), output.join('\n'));
  });

  it('the bridge a single-host Pilot gave the app under the overlay\'s name goes (its containers off it first) and the overlay is made: services cannot use a local network', async () => {
    const swarm = fakeSwarm(() => false);
    swarm.bridges.set('pt-shop-net', ['c-one-host']);
    const runtime = new SwarmRuntime(swarm.docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    await runtime.replace(request(1, []));
    assert.deepEqual(swarm.attached, ['disconnect c-one-host pt-shop-net', 'remove pt-shop-net', 'create overlay pt-shop-net']);
    assert.deepEqual([...swarm.services.values()].map(releaseOf), ['1', '1']);
  });

  it('a replace that succeeds rolls nothing back', async () => {
    const swarm = fakeSwarm(() => false);
    const runtime = new SwarmRuntime(swarm.docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const output: string[] = [];
    await runtime.replace(request(1, output));
    await runtime.replace(request(2, output));
    assert.deepEqual(swarm.updates, ['pt-shop-web v2', 'pt-shop-worker v2']);
    assert.deepEqual([...swarm.services.values()].map(releaseOf), ['2', '2']);
  });

  it('undo of a finished replace: updated services run their previous spec, removed ones come back, created ones go', async () => {
    const swarm = fakeSwarm(() => false);
    const runtime = new SwarmRuntime(swarm.docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const output: string[] = [];
    await runtime.replace(request(1, output));
    const before = structuredClone([...swarm.services.values()].map((service) => service.Spec)).sort((a, b) => a.Name.localeCompare(b.Name));
    // v2 drops the worker and adds a clock.
    const replacement = await runtime.replace({ ...request(2, output), processes: { web: null, clock: 'node clock.js' }, quantities: { web: 3, clock: 1 } });
    assert.deepEqual([...swarm.services.keys()].sort(), ['pt-shop-clock', 'pt-shop-web']);

    await replacement.undo();

    const after = [...swarm.services.values()].map((service) => service.Spec).sort((a, b) => a.Name.localeCompare(b.Name));
    assert.deepEqual(after, before);
    assert.ok(output.includes('Rolling pt-shop-web back to v1'), output.join('\n'));
    assert.ok(output.includes('Creating pt-shop-worker again: 1 × v1'), output.join('\n'));
    assert.deepEqual(await runtime.scheduled(), [
      { app: 'shop', type: 'web', release: 1, slot: 'blue', replicas: 2 },
      { app: 'shop', type: 'worker', release: 1, slot: 'blue', replicas: 1 },
    ]);
  });

  it('an undo that cannot put a service back names it and what to do', async () => {
    const swarm = fakeSwarm(() => false);
    const runtime = new SwarmRuntime(swarm.docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const output: string[] = [];
    await runtime.replace(request(1, output));
    const replacement = await runtime.replace(request(2, output));
    const getService = swarm.docker.getService.bind(swarm.docker);
    // The manager refuses every update from now on.
    swarm.docker.getService = ((key: string) => ({ ...getService(key), update: async () => Promise.reject(new Error('update out of sequence')) })) as unknown as typeof swarm.docker.getService;
    await assert.rejects(replacement.undo(), /pt-shop-worker, pt-shop-web could not be put back as they ran before: see `docker service ps` on the manager/);
    assert.ok(output.some((line) => line.startsWith('pt-shop-web could not be rolled back to v1 (update out of sequence)')), output.join('\n'));
  });
});

describe('SwarmRuntime task poll', () => {
  it('a follower that comes while a stopped poll still awaits its listing gets one poll chain, not two', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const runtime = new SwarmRuntime({} as Docker, {} as DockerRuntime, registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const listings: { resolve: () => void }[] = [];
    Object.assign(runtime, { list: () => new Promise<[]>((resolve) => listings.push({ resolve: () => resolve([]) })) });
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    const first = runtime.watch(() => undefined);
    t.mock.timers.tick(0);
    assert.equal(listings.length, 1, 'the first poll awaits its listing');
    first.stop();
    const second = runtime.watch(() => undefined);
    t.mock.timers.tick(0);
    assert.equal(listings.length, 2);
    for (const listing of listings.splice(0)) listing.resolve();
    await settle();
    t.mock.timers.tick(1000);
    assert.equal(listings.length, 1, 'one listing per period: the stopped chain ended');
    second.stop();
    listings.splice(0)[0]?.resolve();
    await settle();
    t.mock.timers.tick(1000);
    assert.equal(listings.length, 0, 'nothing polls once nobody follows');
  });
});

/** The overlays a service's tasks are on, by name (the fake swarm keeps what Pilot wrote, names or ids). */
const networksOf = (service: FakeService | undefined): string[] => service?.Spec.TaskTemplate.Networks.map((network) => network.Target) ?? [];

describe('SwarmRuntime links (a fake swarm)', () => {
  const oneOffs = (running: boolean) => ({ listOneOffs: async (app?: string) => (app === 'shop' ? [{ id: 'run-1', running }] : []) }) as unknown as DockerRuntime;

  it("joins every service of the app to the other app's overlay with a rolling update, and its running one-offs; unlink leaves it", async () => {
    const swarm = fakeSwarm(() => false);
    const runtime = new SwarmRuntime(swarm.docker, oneOffs(true), registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    await runtime.replace(request(1, []));
    swarm.updates.length = 0;

    await runtime.link('shop', 'billing');
    assert.deepEqual(swarm.updates, ['pt-shop-web v1', 'pt-shop-worker v1'], 'each service updated once, its release unchanged');
    for (const name of ['pt-shop-web', 'pt-shop-worker']) {
      const service = swarm.services.get(name);
      assert.deepEqual(networksOf(service), ['pt-shop-net', 'pt-billing-net']);
      assert.equal(service?.Spec.TaskTemplate.ForceUpdate, 2, 'every task replaced: new tasks are told from the old by it');
    }
    assert.deepEqual(swarm.attached, ['connect run-1 pt-billing-net']);

    // A link already there (Swarm names it by id in the spec it returns) is no update; unlink takes it off by id too.
    for (const service of swarm.services.values()) {
      service.Spec = { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, Networks: service.Spec.TaskTemplate.Networks.map((network) => ({ ...network, Target: swarm.networks.get(network.Target) ?? network.Target })) } };
    }
    swarm.updates.length = 0;
    await runtime.link('shop', 'billing');
    assert.deepEqual(swarm.updates, []);
    await runtime.unlink('shop', 'billing');
    assert.deepEqual(swarm.updates, ['pt-shop-web v1', 'pt-shop-worker v1']);
    assert.deepEqual(networksOf(swarm.services.get('pt-shop-web')), ['n-shop']);
    assert.deepEqual(swarm.attached.at(-1), 'disconnect run-1 pt-billing-net');
  });

  it('a service that Swarm rolls back undoes the link of the services updated before it, and the link fails', async () => {
    const swarm = fakeSwarm((spec) => spec.Name === 'pt-shop-worker' && spec.TaskTemplate.Networks.some((network) => network.Target === 'pt-billing-net'));
    const runtime = new SwarmRuntime(swarm.docker, oneOffs(false), registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    await runtime.replace(request(1, []));
    swarm.updates.length = 0;

    await assert.rejects(runtime.link('shop', 'billing'), /pt-shop-worker did not become healthy/);
    assert.deepEqual(swarm.updates, ['pt-shop-web v1', 'pt-shop-worker v1', 'pt-shop-web v1']);
    assert.deepEqual(networksOf(swarm.services.get('pt-shop-web')), ['pt-shop-net']);
    assert.equal(swarm.services.get('pt-shop-web')?.Spec.TaskTemplate.ForceUpdate, 1, 'back on the spec it ran');
    assert.deepEqual(swarm.attached, []);
  });

  it("destroying an app takes the apps linked to it off its overlay before the overlay goes", async () => {
    const swarm = fakeSwarm(() => false);
    const runtime = new SwarmRuntime(swarm.docker, oneOffs(false), registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    await runtime.replace(request(1, []));
    await runtime.replace(request(1, [], 'billing'));
    await runtime.link('shop', 'billing');

    await runtime.forgetApp('billing');
    assert.deepEqual([...swarm.services.keys()].sort(), ['pt-shop-web', 'pt-shop-worker']);
    assert.deepEqual(networksOf(swarm.services.get('pt-shop-web')), ['pt-shop-net']);
    assert.equal(swarm.networks.has('pt-billing-net'), false);
  });
});

describe('SwarmRuntime stats', () => {
  const task = (id: string, node: string, container: string) => ({
    ID: id, ServiceID: 'svc', NodeID: node, Slot: 1, DesiredState: 'running',
    Spec: { ContainerSpec: { Labels: { 'pilot.instance': 'pt', 'pilot.app': 'shop', 'pilot.release': '1', 'pilot.slot': 'blue', 'pilot.process': 'web' } } },
    Status: { State: 'running', ContainerStatus: { ContainerID: container } },
  });
  const onManager = 'a'.repeat(25);
  const elsewhere = 'b'.repeat(25);
  const docker = {
    listTasks: async () => [task(onManager, 'node-manager', 'container-1'), task(elsewhere, 'node-worker', 'container-2')],
    // The engine gives some managers 0.0.0.0 as their address.
    listNodes: async () => [
      { ID: 'node-manager', Description: { Hostname: 'manager' }, Status: { Addr: '0.0.0.0' }, ManagerStatus: { Addr: '10.0.0.5:2377' } },
      { ID: 'node-worker', Description: { Hostname: 'worker' }, Status: { Addr: '10.0.0.6' } },
    ],
    info: async () => ({ Swarm: { NodeID: 'node-manager' } }),
  } as unknown as Docker;
  const reading = (memoryBytes: number) => ({ cpuSeconds: 1, memoryBytes, memoryLimitBytes: 3, networkInBytes: 0, networkOutBytes: 0 });

  function runtimeWith(agent?: NodeStatsReader) {
    const asked: string[] = [];
    const local = { stats: async (id: string) => (asked.push(id), reading(2)) } as unknown as DockerRuntime;
    const runtime = new SwarmRuntime(docker, local, registry, { instance: 'pt', proxyContainer: 'pt-caddy', ...(agent ? { agent } : {}) });
    return { runtime, asked };
  }

  it("reads a task on the manager from the manager's engine, and a task on another node from that node's agent, at its address", async () => {
    const agentAsked: string[] = [];
    const { runtime, asked } = runtimeWith({ stats: async (node, container) => (agentAsked.push(`${node.name} ${node.address} ${container}`), reading(5)) });
    assert.deepEqual((await runtime.list()).map((process) => process.node), ['manager', 'worker']);
    assert.equal((await runtime.stats(onManager))?.memoryBytes, 2);
    assert.equal((await runtime.stats(elsewhere))?.memoryBytes, 5);
    assert.deepEqual(asked, ['container-1'], "the task's container on the manager");
    assert.deepEqual(agentAsked, ['worker 10.0.0.6 container-2'], "the other node's agent, for that task's container");
    asked.length = 0;
    assert.equal((await runtime.stats('one-off-container'))?.memoryBytes, 2);
    assert.deepEqual(asked, ['one-off-container'], "a one-off is the manager's own container");
    assert.equal(await runtime.stats('c'.repeat(25)), undefined, 'a task the last listing did not have');
  });

  it('gives no stats for a task on another node when its agent does not answer, or without an agent', async () => {
    const dead = runtimeWith({ stats: async () => undefined });
    await dead.runtime.list();
    assert.equal(await dead.runtime.stats(elsewhere), undefined);
    const none = runtimeWith();
    await none.runtime.list();
    assert.equal(await none.runtime.stats(elsewhere), undefined);
    assert.equal((await none.runtime.stats(onManager))?.memoryBytes, 2);
  });
});

describe('SwarmRuntime.listSingleHost', () => {
  it("lists the instance's process containers of the manager's engine that are no swarm task's: what a single-host Pilot ran", async () => {
    const container = (id: string, labels: Record<string, string>): ContainerState => ({
      id, name: id, running: true, status: 'running', exitCode: 0, startedAt: undefined, restartCount: 0, ip: '10.200.0.2', labels,
    });
    const process = { 'pilot.instance': 'pt', 'pilot.app': 'shop', 'pilot.release': '3', 'pilot.slot': 'blue', 'pilot.process': 'web' };
    const containers = [
      container('pt-shop-blue', { ...process, 'pilot.index': '1' }),
      // A task's container on the manager: the service's labels, and the engine's own.
      container('pt-shop-web.1.x7', { ...process, 'com.docker.swarm.service.id': 's1', 'com.docker.swarm.task.id': 't1' }),
      container('pt-shop-run-ab12', { 'pilot.instance': 'pt', 'pilot.app': 'shop', 'pilot.release': '3', 'pilot.process': 'run' }),
    ];
    const engine = { listContainers: async () => containers } as unknown as ContainerEngine;
    const runtime = new SwarmRuntime({} as Docker, new DockerRuntime(engine, 'pt'), registry, { instance: 'pt', proxyContainer: 'pt-caddy' });
    const listed = await runtime.listSingleHost();
    assert.deepEqual(listed.map((one) => [one.id, one.identity]), [['pt-shop-blue', { app: 'shop', release: 3, slot: 'blue', type: 'web', index: 1 }]]);
  });
});
