import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

describe('the control plane while Pilot starts', () => {
  it('refuses every change of what runs with a 503 until the start-up clean-up is done, and reads on', async (t) => {
    let started = false;
    const { app, reached } = await buildTestApp(t, { apps: ['a'], started: () => started });
    const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
    for (const [method, url, payload] of [['POST', '/api/v1/apps/a/ps/restart', '{}'], ['POST', '/api/v1/apps/a/ps/scale', '{"web":2}'], ['PATCH', '/api/v1/apps/a/config', '{"set":{"A":"1"}}']] as const) {
      const answer = await app.inject({ method, url, headers, payload });
      assert.equal(answer.statusCode, 503, url);
      assert.equal(answer.headers['retry-after'], '2');
      assert.equal(answer.json<{ error: string }>().error, 'PILOT_STARTING');
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/apps/a/config', headers })).statusCode, 200, 'reads go on');
    assert.deepEqual(reached.services, [], 'no change reached a service');
    started = true;
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/apps/a/ps/restart', headers, payload: '{}' })).statusCode, 200);
    assert.deepEqual(reached.services, ['processes.act']);
  });
});
