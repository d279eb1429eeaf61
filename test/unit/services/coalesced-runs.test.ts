import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescedRuns } from '../../../src/services/coalesced-runs.js';

/** A run that ends when the test says, recording that it started and what it read then. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('CoalescedRuns (a burst of push webhooks)', () => {
  it('runs one at a time per key, and a burst while one runs makes one more run, with the newest request', async () => {
    const runs = new CoalescedRuns(() => assert.fail('no run throws'));
    const started: string[] = [];
    const first = gate();
    let head = 'a';
    const deploy = (label: string) => async () => {
      started.push(`${label} at ${head}`);
      if (label === 'first') await first.opened;
    };
    assert.equal(runs.request('shop', deploy('first')), 'started');
    assert.equal(runs.request('shop', deploy('second')), 'queued');
    head = 'b';
    assert.equal(runs.request('shop', deploy('third')), 'already-queued');
    head = 'c';
    assert.equal(runs.request('shop', deploy('fourth')), 'already-queued');
    assert.equal(runs.busy('shop'), true);
    // Another app is not held up by shop's deploy.
    assert.equal(runs.request('blog', deploy('blog')), 'started');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['first at c', 'blog at c']);
    head = 'd';
    first.open();
    await runs.idle();
    // The one queued run reads the head as it is when it starts.
    assert.deepEqual(started, ['first at c', 'blog at c', 'fourth at d']);
    assert.equal(runs.busy('shop'), false);
  });

  it('starts afresh once idle, and a run that throws is reported while the queued one still runs', async () => {
    const errors: string[] = [];
    const runs = new CoalescedRuns((key, error) => errors.push(`${key}: ${(error as Error).message}`));
    const ran: string[] = [];
    const first = gate();
    runs.request('shop', async () => {
      await first.opened;
      throw new Error('fetch crashed');
    });
    assert.equal(runs.request('shop', async () => void ran.push('after the crash')), 'queued');
    first.open();
    await runs.idle();
    assert.deepEqual(errors, ['shop: fetch crashed']);
    assert.deepEqual(ran, ['after the crash']);
    assert.equal(runs.request('shop', async () => void ran.push('later')), 'started');
    await runs.idle();
    assert.deepEqual(ran, ['after the crash', 'later']);
  });

  it('once stopped, drops the run waiting and starts none, letting the one under way end', async () => {
    const runs = new CoalescedRuns(() => assert.fail('no run throws'));
    const ran: string[] = [];
    const first = gate();
    runs.request('shop', async () => {
      await first.opened;
      ran.push('under way');
    });
    assert.equal(runs.request('shop', async () => void ran.push('waiting')), 'queued');
    runs.stop();
    assert.equal(runs.request('blog', async () => void ran.push('new')), 'stopped');
    first.open();
    await runs.idle();
    assert.deepEqual(ran, ['under way']);
  });
});
