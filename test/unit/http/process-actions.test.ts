import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, TEST_ADMIN_TOKEN } from '../../helpers/api.js';

describe('POST /api/v1/apps/:app/ps/:action', () => {
  it('acts on every process type, or on the one type the body names, and refuses a type that is no name', async (t) => {
    const calls: unknown[][] = [];
    const { app } = await buildTestApp(t, {
      apps: ['shop'],
      replace: () => ({ processes: { act: async (target: { name: string }, action: string, types?: string[]) => (calls.push([target.name, action, types]), []) } as never }),
    });
    const post = (payload?: object) =>
      app.inject({ method: 'POST', url: '/api/v1/apps/shop/ps/restart', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, ...(payload ? { payload } : {}) });
    assert.equal((await post()).statusCode, 200);
    assert.equal((await post({ type: 'worker' })).statusCode, 200);
    assert.deepEqual(calls, [['shop', 'restart', undefined], ['shop', 'restart', ['worker']]]);
    const refused = await post({ type: 'web; rm -rf /' });
    assert.equal(refused.statusCode, 400);
    assert.equal((await post({ types: ['web'] })).statusCode, 400, 'an unknown field is refused');
    assert.equal(calls.length, 2, 'a refused request reaches no service');
  });
});
