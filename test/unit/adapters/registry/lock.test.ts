import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SharedExclusiveLock } from '../../../../src/adapters/registry/lock.js';

/** A promise with its resolve, to hold a lock until the test lets go. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = () => undefined as void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('SharedExclusiveLock (pushes and the garbage collection of the registry)', () => {
  it('lets pushes run together, and a collection only once they are done, alone', async () => {
    const lock = new SharedExclusiveLock();
    const order: string[] = [];
    const push1 = gate();
    const push2 = gate();
    const first = lock.shared(async () => { order.push('push 1 starts'); await push1.opened; order.push('push 1 ends'); });
    const second = lock.shared(async () => { order.push('push 2 starts'); await push2.opened; order.push('push 2 ends'); });
    const collection = lock.exclusive(async () => { order.push('collect'); });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['push 1 starts', 'push 2 starts']);
    push1.open();
    await first;
    assert.ok(!order.includes('collect'), 'waits for every push');
    push2.open();
    await Promise.all([second, collection]);
    assert.deepEqual(order.slice(-2), ['push 2 ends', 'collect']);
  });

  it('holds a push back while a collection runs, and lets go of the lock when a holder fails', async () => {
    const lock = new SharedExclusiveLock();
    const sweep = gate();
    const order: string[] = [];
    const collection = lock.exclusive(async () => { order.push('collect starts'); await sweep.opened; throw new Error('sweep failed'); });
    const push = lock.shared(async () => { order.push('push'); return 'pushed'; });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['collect starts']);
    sweep.open();
    await assert.rejects(collection, /sweep failed/);
    assert.equal(await push, 'pushed');
  });

  it('lets a waiting collection go before pushes that come after it, so that pushes cannot starve it', async () => {
    const lock = new SharedExclusiveLock();
    const order: string[] = [];
    const push1 = gate();
    const first = lock.shared(async () => { order.push('push 1'); await push1.opened; });
    const collection = lock.exclusive(async () => { order.push('collect'); });
    const later = lock.shared(async () => { order.push('push 2'); });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['push 1'], 'push 2 waits behind the collection');
    push1.open();
    await Promise.all([first, collection, later]);
    assert.deepEqual(order, ['push 1', 'collect', 'push 2']);
  });
});
