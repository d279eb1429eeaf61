import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renameArguments } from '../../../src/cli/commands/apps.js';

describe('pilot apps:rename arguments', () => {
  it('takes OLD NEW, Heroku\'s NEW -a OLD, and NEW alone (the app of the git remote)', () => {
    assert.deepEqual(renameArguments(['shop', 'store'], undefined), { from: 'shop', to: 'store' });
    assert.deepEqual(renameArguments(['store'], 'shop'), { from: 'shop', to: 'store' });
    assert.deepEqual(renameArguments(['store'], undefined), { from: undefined, to: 'store' });
    assert.deepEqual(renameArguments(['shop', 'store'], 'shop'), { from: 'shop', to: 'store' });
  });

  it('refuses two different old names and extra words, saying which forms work', () => {
    assert.throws(() => renameArguments(['shop', 'store'], 'other'), /two apps given \(shop and -a other\): give OLD NEW, or NEW -a OLD/);
    assert.throws(() => renameArguments(['a', 'b', 'c'], undefined), /pilot apps:rename NEW -a OLD/);
  });
});
