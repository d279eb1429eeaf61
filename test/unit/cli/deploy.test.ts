import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { shortSource } from '../../../src/cli/commands/deploy.js';

describe("pilot releases: a release's source in a few characters", () => {
  it('shortens a commit, a digest and an image reference', () => {
    assert.equal(shortSource(`git ${'3f2a1c9'.padEnd(40, '0')}`), 'git 3f2a1c9');
    assert.equal(shortSource(`archive sha256:${'ab12'.repeat(16)}`), 'archive ab12ab12ab12');
    assert.equal(shortSource(`image registry.example.com:5000/shop:1.4@sha256:${'c'.repeat(64)}`), 'image registry.example.com:5000/shop:1.4');
    assert.equal(shortSource(null), undefined);
  });
});
