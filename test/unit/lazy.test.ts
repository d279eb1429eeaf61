import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commonJsExports } from '../../src/lazy.js';

describe('commonJsExports', () => {
  const exports = { Git: class Git {}, version: '1' };

  it('takes the named exports when the loader gives them (Node, tsx)', () => {
    assert.equal(commonJsExports({ ...exports, default: exports }, 'Git').Git, exports.Git);
    assert.equal(commonJsExports({ ...exports }, 'Git').Git, exports.Git);
  });

  it("takes module.exports from `default` when that is all there is (the server's bundle)", () => {
    assert.equal(commonJsExports({ default: exports } as unknown as typeof exports, 'Git').Git, exports.Git);
  });
});
