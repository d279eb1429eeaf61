import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildLimitOptions } from '../../../src/adapters/docker/build.js';

describe('buildLimitOptions', () => {
  it('turns the build caps into the classic builder options: CPU quota, lower weight, memory without swap', () => {
    assert.deepEqual(buildLimitOptions({ cpus: 1.5, memoryBytes: 2 * 1024 ** 3 }), {
      cpuperiod: 100_000,
      cpuquota: 150_000,
      cpushares: 512,
      memory: 2 * 1024 ** 3,
      memswap: 2 * 1024 ** 3,
    });
  });
});
