import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appNameMaxLength, validateAppName } from '../../../src/domain/app-name.js';
import { ValidationError } from '../../../src/domain/errors.js';

describe('validateAppName', () => {
  it('accepts DNS labels', () => {
    for (const name of ['a', 'my-app', 'app2', 'x'.repeat(63)]) assert.equal(validateAppName(name), name);
  });

  it('allows what the domain leaves of a DNS name: 63 characters at most, fewer under a long domain', () => {
    assert.equal(appNameMaxLength('example.com'), 63);
    const longDomain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example.com`;
    assert.equal(appNameMaxLength(longDomain), 253 - longDomain.length - 1);
    const limit = appNameMaxLength(longDomain);
    assert.equal(validateAppName('a'.repeat(limit), limit), 'a'.repeat(limit));
    assert.throws(() => validateAppName('a'.repeat(limit + 1), limit), new RegExp(`use 1 to ${limit} lowercase letters`));
  });

  it('refuses names that are not DNS labels, saying what a valid name looks like', () => {
    for (const name of ['', 'My-App', '1app', 'app-', 'a_b', 'a.b', 'x'.repeat(64), 'app{}', 'a\nb']) {
      assert.throws(() => validateAppName(name), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.match(error.message, /use 1 to 63 lowercase letters, digits and dashes/);
        return true;
      });
    }
  });

  it('keeps "--" for preview apps: no app of its own may take a preview\'s name', () => {
    assert.throws(() => validateAppName('shop--preview-x'), /"--" is kept for preview apps \(<app>--<branch>\); use a single dash/);
  });

  it('refuses reserved names', () => {
    for (const name of ['pilot', 'www', 'api']) assert.throws(() => validateAppName(name), /is reserved/);
  });
});
