import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { NewEvent } from '../../../src/domain/ports.js';
import { NodeEvents } from '../../../src/services/node-events.js';
import { FakeCluster, clusterNode } from '../../helpers/fake-cluster.js';

/** A watcher over a fake cluster of a manager and a worker; its poll is off (an hour) unless the test asks. */
function watched(t: { after(fn: () => Promise<unknown>): void }, pollMs = 3_600_000) {
  const cluster = new FakeCluster([clusterNode({ id: 'm', hostname: 'manager-1', role: 'manager' }), clusterNode({ id: 'w', hostname: 'worker-1' })]);
  const recorded: NewEvent[] = [];
  const watcher = new NodeEvents({ cluster, events: { record: (event) => recorded.push(event) }, logger: pino({ level: 'silent' }), pollMs });
  watcher.start();
  t.after(() => watcher.stop());
  const told = () => recorded.map((event) => `${event.kind} ${event.message}`);
  return { cluster, watcher, recorded, told };
}

describe('node events of the server timeline', () => {
  it('tells nothing of the nodes as they were at start', async (t) => {
    const { cluster, watcher, recorded } = watched(t);
    await watcher.settled();
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(recorded, []);
    assert.equal(cluster.watchers, 1);
  });

  it('tells node.down once when a node goes down, however many events say so, then node.up when it is back', async (t) => {
    const { cluster, watcher, recorded, told } = watched(t);
    await watcher.settled();
    cluster.update('w', { state: 'down' });
    cluster.emit();
    cluster.emit();
    await watcher.settled();
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(told(), ['node.down node worker-1 (worker) is down (it was ready)']);
    cluster.update('w', { state: 'ready' });
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(told().slice(1), ['node.up node worker-1 (worker) is ready again (it was down)']);
    assert.ok(recorded.every((event) => event.appId === null && event.app === null), 'events of the server, not of an app');
  });

  it('tells a node that joined ready, and nothing of one that left', async (t) => {
    const { cluster, watcher, told } = watched(t);
    await watcher.settled();
    cluster.nodes = [...cluster.nodes.filter((node) => node.id !== 'w'), clusterNode({ id: 'n', hostname: 'worker-2' })];
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(told(), ['node.up node worker-2 (worker) joined the cluster']);
  });

  it('finds a change no event told, at the next poll', async (t) => {
    const { cluster, told } = watched(t, 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    cluster.update('m', { state: 'unknown' });
    const deadline = Date.now() + 5000;
    while (told().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(told(), ['node.down node manager-1 (manager) is unknown (it was ready)']);
  });

  it('keeps what it knew while the engine does not answer, and tells the change once it answers again', async (t) => {
    const { cluster, watcher, told } = watched(t);
    await watcher.settled();
    cluster.failing = true;
    cluster.update('w', { state: 'down' });
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(told(), []);
    cluster.failing = false;
    cluster.emit();
    await watcher.settled();
    assert.deepEqual(told(), ['node.down node worker-1 (worker) is down (it was ready)']);
  });

  it('stops following the engine when stopped', async (t) => {
    const { cluster, watcher } = watched(t);
    await watcher.stop();
    assert.equal(cluster.watchers, 0);
  });
});
