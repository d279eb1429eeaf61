import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configDescription, limitsDescription, mountDescription, rollbackDescription, unmountDescription } from '../../../src/domain/release-descriptions.js';

describe('release descriptions', () => {
  it('name the config keys a change set and unset, counting past three', () => {
    assert.equal(configDescription(['GREETING'], []), 'Set GREETING');
    assert.equal(configDescription([], ['GREETING', 'TOKEN']), 'Unset GREETING, TOKEN');
    assert.equal(configDescription(['A'], ['B']), 'Set A; unset B');
    assert.equal(configDescription(['A', 'B', 'C', 'D', 'E'], []), 'Set A, B, C and 2 more');
  });

  it('name the version of a rollback, the limits and the volume path', () => {
    assert.equal(rollbackDescription(2), 'Rollback to v2');
    assert.equal(limitsDescription({ memory: '256m', cpus: 0.5 }), 'Set limits: memory 256m, cpus 0.5');
    assert.equal(limitsDescription({ memory: null }), 'Set limits: memory default');
    assert.equal(mountDescription('/app/uploads'), 'Mount a volume at /app/uploads');
    assert.equal(unmountDescription('/app/uploads'), 'Unmount the volume at /app/uploads');
  });
});
