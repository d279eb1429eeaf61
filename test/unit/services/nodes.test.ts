import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError } from '../../../src/domain/errors.js';
import { NodeService, findNode, installJoinCommand } from '../../../src/services/nodes.js';
import { FakeCluster, clusterNode } from '../../helpers/fake-cluster.js';

const nodes = [
  clusterNode({ id: 'abc123manager', hostname: 'm1', role: 'manager', leader: true }),
  clusterNode({ id: 'def456worker', hostname: 'w1' }),
  clusterNode({ id: 'de9999oldworker', hostname: 'w2', state: 'down' }),
  clusterNode({ id: 'fff000worker', hostname: 'w2' }),
];

describe('finding a node by what the operator typed', () => {
  it('takes the id, the hostname or a unique prefix of the id', () => {
    assert.equal(findNode(nodes, 'def456worker').hostname, 'w1');
    assert.equal(findNode(nodes, 'w1').id, 'def456worker');
    assert.equal(findNode(nodes, 'abc').hostname, 'm1');
  });

  it('refuses a name two nodes share (a machine that joined again), listing their ids and states', () => {
    assert.throws(() => findNode(nodes, 'w2'), (error: unknown) => error instanceof ConflictError && /names 2 nodes \(de9999oldworker down, fff000worker ready\): use the id/.test(error.message));
    assert.throws(() => findNode(nodes, 'de'), ConflictError);
  });

  it('says which nodes exist when none matches', () => {
    assert.throws(() => findNode(nodes, 'w3'), (error: unknown) => error instanceof NotFoundError && /no node "w3": the nodes are m1, w1, w2, w2/.test(error.message));
  });
});

describe('NodeService', () => {
  it('drains and activates the node named by its hostname, and answers it as it is then', async () => {
    const cluster = new FakeCluster(nodes);
    const service = new NodeService(cluster);
    assert.equal((await service.setAvailability('w1', 'drain')).availability, 'drain');
    assert.equal((await service.setAvailability('w1', 'drain')).availability, 'drain');
    assert.equal((await service.setAvailability('def456', 'active')).availability, 'active');
    // Draining a drained node asks the engine nothing.
    assert.deepEqual(cluster.availabilityChanges, ['def456worker drain', 'def456worker active']);
  });

  it('refuses everything with what to do when swarm mode is off', async () => {
    const service = new NodeService(undefined);
    for (const call of [() => service.list(), () => service.joinCommand('worker'), () => service.setAvailability('w1', 'drain')]) {
      await assert.rejects(call(), (error: unknown) => error instanceof ConflictError && /swarm mode is off: set PILOT_SCHEDULER=swarm on a swarm manager/.test(error.message));
    }
  });
});

describe('the install.sh line that adds a fresh server', () => {
  const registry = { address: '10.0.0.5:5000', caFingerprint: 'AB:CD:EF' };

  it('carries the join token and manager address, and the registry with its CA fingerprint', () => {
    assert.equal(
      installJoinCommand('docker swarm join --token SWMTKN-1-abc 10.0.0.5:2377', registry),
      './install.sh --join 10.0.0.5:2377 --token SWMTKN-1-abc --registry 10.0.0.5:5000 --registry-ca-sha256 AB:CD:EF',
    );
    assert.equal(installJoinCommand('something else', registry), undefined);
  });

  it('is offered once the registry runs, never before', () => {
    const running: { settings?: typeof registry } = {};
    const service = new NodeService(new FakeCluster(nodes), { joinSettings: () => running.settings });
    assert.equal(service.installCommand('docker swarm join --token T 10.0.0.5:2377'), undefined);
    running.settings = registry;
    assert.match(service.installCommand('docker swarm join --token T 10.0.0.5:2377') ?? '', /^\.\/install\.sh --join 10\.0\.0\.5:2377 --token T /);
  });
});
