import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RELEASE_TRANSITIONS, ReleaseTransitionError, assertTransition, canTransition } from '../../../src/domain/release-states.js';
import { RELEASE_STATUSES } from '../../../src/domain/types.js';

describe('release states', () => {
  it('allows exactly the steps of a rollout, failure before live, and retirement after it', () => {
    assert.deepEqual(RELEASE_TRANSITIONS, {
      building: ['starting', 'failed'],
      starting: ['checking', 'failed'],
      checking: ['live', 'failed'],
      live: ['retired'],
      failed: [],
      retired: [],
    });
    assert.deepEqual(Object.keys(RELEASE_TRANSITIONS).sort(), [...RELEASE_STATUSES].sort(), 'every status has a row');
  });

  it('answers canTransition from the table, never allowing a status to itself', () => {
    for (const from of RELEASE_STATUSES) {
      for (const to of RELEASE_STATUSES) assert.equal(canTransition(from, to), RELEASE_TRANSITIONS[from].includes(to), `${from} → ${to}`);
      assert.equal(canTransition(from, from), false);
    }
  });

  it('refuses an illegal change with an error naming the release, both states and what is allowed', () => {
    assert.doesNotThrow(() => assertTransition('shop v3', 'checking', 'live'));
    assert.throws(
      () => assertTransition('shop v3', 'building', 'live'),
      (error: unknown) =>
        error instanceof ReleaseTransitionError &&
        error.from === 'building' && error.to === 'live' && error.release === 'shop v3' &&
        error.message === 'shop v3 cannot go from building to live: a building release may only become starting or failed',
    );
    assert.throws(() => assertTransition('shop v2', 'retired', 'live'), /shop v2 cannot go from retired to live: a retired release may only become nothing else \(it is final\)/);
  });
});
