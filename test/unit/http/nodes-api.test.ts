import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeView } from '../../../src/domain/shapes.js';
import { NodeService } from '../../../src/services/nodes.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { FakeCluster, clusterNode } from '../../helpers/fake-cluster.js';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

async function swarmApp(t: Parameters<typeof buildTestApp>[0]) {
  const cluster = new FakeCluster([
    clusterNode({ id: 'm1id', hostname: 'manager-1', role: 'manager', leader: true, runningTasks: 2, labels: { zone: 'a' } }),
    clusterNode({ id: 'w1id', hostname: 'worker-1', address: '10.0.0.2' }),
  ]);
  const built = await buildTestApp(t, { apps: ['shop'], replace: () => ({ nodes: new NodeService(cluster) }) });
  return { ...built, cluster };
}

describe('the nodes API', () => {
  it('lists the nodes with role, state, availability, address, labels and running tasks', async (t) => {
    const { app } = await swarmApp(t);
    const answer = await app.inject({ url: '/api/v1/nodes', headers: admin });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json<NodeView[]>()[0], {
      id: 'm1id', hostname: 'manager-1', role: 'manager', state: 'ready', availability: 'active', address: '10.0.0.1', labels: { zone: 'a' }, leader: true, runningTasks: 2,
    });
  });

  it('gives the join line of a worker, or of a manager', async (t) => {
    const { app } = await swarmApp(t);
    const worker = await app.inject({ url: '/api/v1/nodes/join-command', headers: admin });
    assert.deepEqual(worker.json(), { role: 'worker', command: 'docker swarm join --token SWMTKN-1-fake-worker 10.0.0.1:2377' });
    const manager = await app.inject({ url: '/api/v1/nodes/join-command?role=manager', headers: admin });
    assert.equal(manager.json<{ role: string }>().role, 'manager');
    assert.equal((await app.inject({ url: '/api/v1/nodes/join-command?role=boss', headers: admin })).statusCode, 400);
  });

  it('drains a node by hostname and activates it back', async (t) => {
    const { app, cluster } = await swarmApp(t);
    const drained = await app.inject({ method: 'POST', url: '/api/v1/nodes/worker-1/drain', headers: admin });
    assert.equal(drained.statusCode, 200);
    assert.equal(drained.json<NodeView>().availability, 'drain');
    const activated = await app.inject({ method: 'POST', url: '/api/v1/nodes/w1id/activate', headers: admin });
    assert.equal(activated.json<NodeView>().availability, 'active');
    assert.deepEqual(cluster.availabilityChanges, ['w1id drain', 'w1id active']);
  });

  it('answers 404 with the known nodes for an unknown one, and 400 for a name that is none', async (t) => {
    const { app, cluster } = await swarmApp(t);
    const missing = await app.inject({ method: 'POST', url: '/api/v1/nodes/worker-9/drain', headers: admin });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /no node "worker-9": the nodes are manager-1, worker-1/);
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/nodes/-x/drain', headers: admin })).statusCode, 400);
    assert.deepEqual(cluster.availabilityChanges, []);
  });

  it('is for admins: a deploy token is refused', async (t) => {
    const { app, deployToken, cluster } = await swarmApp(t);
    const headers = { authorization: `Bearer ${deployToken('shop')}` };
    assert.equal((await app.inject({ url: '/api/v1/nodes', headers })).statusCode, 403);
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/nodes/worker-1/drain', headers })).statusCode, 403);
    assert.deepEqual(cluster.availabilityChanges, []);
  });

  it('answers 409 with what to do when swarm mode is off', async (t) => {
    const { app } = await buildTestApp(t);
    for (const [method, url] of [['GET', '/api/v1/nodes'], ['GET', '/api/v1/nodes/join-command'], ['POST', '/api/v1/nodes/worker-1/activate']] as const) {
      const answer = await app.inject({ method, url, headers: admin });
      assert.equal(answer.statusCode, 409, `${method} ${url}`);
      assert.match(answer.json<{ message: string }>().message, /swarm mode is off: set PILOT_SCHEDULER=swarm on a swarm manager/);
    }
  });
});
