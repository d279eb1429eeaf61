import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateBuildDir, validateConfigVars } from '../../../src/services/validation.js';
import { ValidationError } from '../../../src/domain/errors.js';

function refusal(input: string): string {
  try {
    validateBuildDir(input);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be refused`);
}

describe('validateBuildDir', () => {
  it('keeps a relative directory path, without ./ or a trailing slash; empty is the root', () => {
    assert.equal(validateBuildDir('apps/web'), 'apps/web');
    assert.equal(validateBuildDir('./apps/web/'), 'apps/web');
    assert.equal(validateBuildDir('@scope/pkg.v2'), '@scope/pkg.v2');
    assert.equal(validateBuildDir(''), null);
    assert.equal(validateBuildDir(' . '), null);
  });

  it('refuses absolute paths, .., and what is not a plain path, saying why', () => {
    assert.match(refusal('/srv/app'), /build-dir "\/srv\/app" must be relative to the repository root \(e\.g\. apps\/web\), not start with \//);
    for (const input of ['/', '//', ' / ']) {
      assert.match(refusal(input), /must be relative to the repository root \(e\.g\. apps\/web\), not start with \//, input);
    }
    assert.match(refusal('apps/../../etc'), /must stay inside the repository: no "\.\."/);
    assert.match(refusal('..'), /no "\.\."/);
    for (const input of ['apps//web', 'apps/web name', 'apps\\web', 'a/.hidden/../b', `${'a/'.repeat(200)}b`]) {
      assert.match(refusal(input), /must (be a directory path such as apps\/web|stay inside the repository)/, input);
    }
  });

  it('refuses a name that starts with a dot, and its message says dots cannot come first', () => {
    for (const input of ['.hidden', 'apps/.cache', '...']) {
      assert.match(refusal(input), /and dots, but not first\)/, input);
    }
    assert.equal(validateBuildDir('apps/web.v2'), 'apps/web.v2');
  });
});

describe('validateConfigVars', () => {
  it('refuses values no environment can carry, naming the key and never the value', () => {
    for (const value of ['se\0cret', '\0', 'half \ud800 pair']) {
      assert.throws(() => validateConfigVars({ OK: 'fine', BAD_KEY: value }), (error: Error) => {
        assert.match(error.message, /BAD_KEY/);
        assert.ok(!error.message.includes(value), error.message);
        return true;
      });
    }
  });

  it('takes newlines, quotes, shell syntax and any valid Unicode as they are', () => {
    assert.doesNotThrow(() => validateConfigVars({ A: 'line\nnext', B: '$(rm -rf /) "x" \'y\'', C: 'grüße 😀', D: '' }));
  });
});
