import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenSessions } from '../../../src/http/token-sessions.js';

describe('TokenSessions', () => {
  it('ends every open session of a revoked token, and only those', () => {
    const sessions = new TokenSessions();
    const ended: string[] = [];
    sessions.hold(1, () => ended.push('logs of 1'));
    sessions.hold(1, () => ended.push('run of 1'));
    sessions.hold(2, () => ended.push('logs of 2'));
    sessions.endAll(1);
    assert.deepEqual(ended, ['logs of 1', 'run of 1']);
    assert.equal(sessions.count(1), 0);
    assert.equal(sessions.count(2), 1);
  });

  it('forgets a session that ended by itself', () => {
    const sessions = new TokenSessions();
    let ended = false;
    const release = sessions.hold(1, () => (ended = true));
    release();
    sessions.endAll(1);
    assert.equal(ended, false);
    assert.equal(sessions.count(1), 0);
  });
});
