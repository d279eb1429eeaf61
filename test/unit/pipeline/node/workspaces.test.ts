import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, matchWorkspaces } from '../../../../src/pipeline/node/workspaces.js';

describe('workspace globs', () => {
  it('keeps * and ? in one path segment and lets ** span several', () => {
    assert.equal(globToRegExp('packages/*').test('packages/a'), true);
    assert.equal(globToRegExp('packages/*').test('packages/a/b'), false);
    assert.equal(globToRegExp('./packages/*/').test('packages/a'), true);
    assert.equal(globToRegExp('apps/**').test('apps/a/b'), true);
    assert.equal(globToRegExp('**/ui').test('ui'), true);
    assert.equal(globToRegExp('**/ui').test('libs/x/ui'), true);
    assert.equal(globToRegExp('lib-?').test('lib-1'), true);
    assert.equal(globToRegExp('a.b/*').test('axb/c'), false);
  });

  it('selects the directories holding a package.json, under a root, minus the ! globs', () => {
    const files = new Set(['package.json', 'packages/a/package.json', 'packages/b/package.json', 'packages/b/src/x.js', 'packages/c/readme.md', 'sub/packages/d/package.json']);
    assert.deepEqual(matchWorkspaces(['packages/*', '!packages/b'], '', files), ['packages/a']);
    assert.deepEqual(matchWorkspaces(['packages/*'], 'sub', files), ['packages/d']);
  });
});
