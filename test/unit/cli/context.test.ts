import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ask } from '../../../src/cli/context.js';

describe('pilot asking a question', () => {
  it('takes the first line of stdin without a terminal', async () => {
    assert.equal(await ask('Token: ', 'no token', Readable.from(['secret\n', 'more\n'])), 'secret');
  });

  it('says what to do when stdin ends without an answer, instead of exiting silently', async () => {
    await assert.rejects(ask('Type its name: ', 'not destroyed: confirm with --confirm shop', Readable.from([])), {
      name: 'CliError',
      message: 'not destroyed: confirm with --confirm shop',
    });
  });
});
