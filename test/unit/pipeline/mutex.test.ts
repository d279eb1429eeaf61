import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from '../../../src/pipeline/mutex.js';

describe('KeyedMutex', () => {
  it('serializes tasks of one key in arrival order and runs other keys side by side', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = mutex.run('a', async () => {
      events.push('a1 start');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push('a1 end');
    });
    const second = mutex.run('a', async () => {
      events.push('a2');
    });
    const other = mutex.run('b', async () => {
      events.push('b1');
    });
    await other;
    assert.equal(mutex.isBusy('a'), true);
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['a1 start', 'b1', 'a1 end', 'a2']);
    assert.equal(mutex.isBusy('a'), false);
  });

  it('releases the lock when a task throws', async () => {
    const mutex = new KeyedMutex();
    await assert.rejects(mutex.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await mutex.run('a', async () => 'next'), 'next');
  });
});
