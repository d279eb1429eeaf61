import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mountedMessage, type MountAnswer } from '../../../src/cli/commands/storage.js';

describe('pilot storage:mount', () => {
  const volume = { name: 'pilot-shop-data-1a2b3c4d', path: '/data' };
  const cases: { name: string; answer: MountAnswer; expected: string }[] = [
    {
      name: 'one host, a running app: the release that mounts it',
      answer: { volume, release: { version: 4 } },
      expected: 'Mounted pilot-shop-data-1a2b3c4d at /data (released v4)',
    },
    {
      name: 'one host, an app not deployed yet',
      answer: { volume, release: null },
      expected: 'Mounted pilot-shop-data-1a2b3c4d at /data (from the first deploy)',
    },
    {
      name: 'a swarm: the node that holds the volume, where the app runs, updated stop-first',
      answer: { volume, release: { version: 4 }, node: 'swarm-manager' },
      expected: 'Mounted pilot-shop-data-1a2b3c4d at /data (released v4)\n'
        + "The volume lives on node swarm-manager: the app's processes run on that node only, and are replaced stop-first (each stops before its replacement starts; with one process the app pauses during a deploy).",
    },
  ];
  for (const { name, answer, expected } of cases) it(name, () => assert.equal(mountedMessage(answer), expected));
});
