import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { branchSlug, decidePreview, isPreviewBranch, previewAppName, previewConfig, validatePreviewPattern, type PreviewPush } from '../../../src/domain/previews.js';
import { validateAppName } from '../../../src/domain/app-name.js';

const on = (pattern: string | null, maxPreviews = 5) => ({ enabled: true, pattern, maxPreviews });

describe('preview names', () => {
  it('slugs a branch: lowercase, every run of other characters one dash, none at the ends', () => {
    assert.equal(branchSlug('preview/Login-Page'), 'preview-login-page');
    assert.equal(branchSlug('feature/JIRA-123_fix..it'), 'feature-jira-123-fix-it');
    assert.equal(branchSlug('--x--'), 'x');
    assert.equal(branchSlug('_/_'), '');
  });

  it('names the preview <app>--<slug>, a name apps:create refuses', () => {
    const name = previewAppName('shop', 'preview/login', 63);
    assert.equal(name, 'shop--preview-login');
    assert.throws(() => validateAppName(name), /"--" is kept for preview apps/);
  });

  it('cuts a long slug to the DNS label limit and ends it with a hash of the branch, so long branches stay distinct', () => {
    const long = `preview/${'very-long-branch-name-'.repeat(5)}`;
    const one = previewAppName('shop', `${long}one`, 63);
    const two = previewAppName('shop', `${long}two`, 63);
    for (const name of [one, two]) {
      assert.ok(name.length <= 63, name);
      assert.match(name, /^shop--preview-very-long[a-z0-9-]*-[0-9a-f]{6}$/);
      assert.doesNotMatch(name, /-$/);
    }
    assert.notEqual(one, two);
    assert.ok(previewAppName('shop', long, 30).length <= 30);
  });

  it('hashes a slug that is empty, or taken by another branch when asked', () => {
    assert.match(previewAppName('shop', '___', 63), /^shop--[0-9a-f]{6}$/);
    assert.match(previewAppName('shop', 'preview-x', 63, true), /^shop--preview-x-[0-9a-f]{6}$/);
  });

  it('refuses an app whose name leaves no room for a branch', () => {
    assert.throws(() => previewAppName('a'.repeat(58), 'x', 63), /too long for previews/);
  });
});

describe('preview patterns', () => {
  it('matches * within a segment, ** across, ? one character', () => {
    assert.ok(isPreviewBranch(on('preview/*'), 'preview/x', 'main'));
    assert.ok(!isPreviewBranch(on('preview/*'), 'preview/x/y', 'main'));
    assert.ok(isPreviewBranch(on('preview/**'), 'preview/x/y', 'main'));
    assert.ok(isPreviewBranch(on('pr-?'), 'pr-7', 'main'));
    assert.ok(!isPreviewBranch(on('pr-?'), 'pr-17', 'main'));
    assert.ok(!isPreviewBranch(on('preview/*'), 'feature/x', 'main'));
    // Regular-expression characters are literal.
    assert.ok(!isPreviewBranch(on('v1.0'), 'v1x0', 'main'));
    assert.ok(isPreviewBranch(on('v1.0'), 'v1.0', 'main'));
  });

  it('with no pattern, takes every branch but the deploy branch; never the deploy branch, never when off', () => {
    assert.ok(isPreviewBranch(on(null), 'anything/at-all', 'main'));
    assert.ok(!isPreviewBranch(on(null), 'main', 'main'));
    assert.ok(!isPreviewBranch(on('*'), 'master', 'master'));
    assert.ok(!isPreviewBranch({ enabled: false, pattern: '*', maxPreviews: 5 }, 'x', 'main'));
  });

  it('refuses patterns that are not branch globs', () => {
    assert.equal(validatePreviewPattern('feature/**'), 'feature/**');
    for (const pattern of ['', ' ', 'a b', 'refs/heads/*', 'pr-[0-9]', 'x'.repeat(201), 'a:b']) {
      assert.throws(() => validatePreviewPattern(pattern), /invalid preview pattern/, pattern);
    }
  });
});

describe('decidePreview', () => {
  const push = (overrides: Partial<PreviewPush>): PreviewPush => ({
    parent: 'shop', branch: 'preview/x', deployBranch: 'main', settings: on('preview/*', 2), previews: [], taken: () => false, maxNameLength: 63, ...overrides,
  });

  it('leaves a branch outside the pattern alone, saying what deploys', () => {
    const decision = decidePreview(push({ branch: 'feature/x' }));
    assert.equal(decision.action, 'skip');
    assert.match((decision as { reason: string }).reason, /^Pushed feature\/x: only main deploys, nothing was deployed \(branches matching preview\/\* deploy previews\)$/);
  });

  it('creates a preview within the cap, redeploys an existing one even at the cap, and refuses one too many', () => {
    assert.deepEqual(decidePreview(push({})), { action: 'deploy', name: 'shop--preview-x', existing: false });
    const full = [{ name: 'shop--preview-a', branch: 'preview/a' }, { name: 'shop--preview-x', branch: 'preview/x' }];
    assert.deepEqual(decidePreview(push({ previews: full })), { action: 'deploy', name: 'shop--preview-x', existing: true });
    const refused = decidePreview(push({ branch: 'preview/y', previews: full }));
    assert.equal(refused.action, 'refuse');
    assert.match((refused as { reason: string }).reason, /^shop has 2 previews, its limit: nothing was deployed and preview\/y was not pushed; destroy one/);
  });

  it('counts the new previews of the same push against the cap', () => {
    const existing = [{ name: 'shop--preview-a', branch: 'preview/a' }];
    const third = decidePreview(push({ branch: 'preview/c', previews: existing, pushedWith: ['preview/a', 'preview/b'] }));
    assert.equal(third.action, 'refuse');
    assert.match((third as { reason: string }).reason, /^shop has 1 preview and this push makes 1 more, its limit: nothing was deployed and preview\/c was not pushed/);
    assert.equal(decidePreview(push({ branch: 'preview/b', previews: existing, pushedWith: ['preview/a'] })).action, 'deploy');
  });

  it('takes a hashed name when the slug is another app\'s', () => {
    const decision = decidePreview(push({ branch: 'preview-x', settings: on(null), taken: (name) => name === 'shop--preview-x' }));
    assert.equal(decision.action, 'deploy');
    assert.match((decision as { name: string }).name, /^shop--preview-x-[0-9a-f]{6}$/);
  });
});

describe('previewConfig', () => {
  it("is the parent's config with the overrides in place", () => {
    assert.deepEqual(previewConfig({ A: '1', DATABASE_URL: 'prod' }, { DATABASE_URL: 'staging', BANNER: 'preview' }), { A: '1', DATABASE_URL: 'staging', BANNER: 'preview' });
  });
});
