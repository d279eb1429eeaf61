import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateAppName } from '../../../src/domain/app-name.js';
import { ValidationError } from '../../../src/domain/errors.js';

describe('validateAppName', () => {
  it('accepts DNS labels', () => {
    for (const name of ['a', 'my-app', 'app2', 'x'.repeat(30)]) assert.equal(validateAppName(name), name);
  });

  it('refuses names that are not DNS labels, saying what a valid name looks like', () => {
    for (const name of ['', 'My-App', '1app', 'app-', 'a_b', 'a.b', 'x'.repeat(31), 'app{}', 'a\nb']) {
      assert.throws(() => validateAppName(name), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.match(error.message, /use 1 to 30 lowercase letters, digits and dashes/);
        return true;
      });
    }
  });

  it('refuses reserved names', () => {
    for (const name of ['pilot', 'www', 'api']) assert.throws(() => validateAppName(name), /is reserved/);
  });
});
