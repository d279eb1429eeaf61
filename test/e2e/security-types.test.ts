import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, tempDir } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/**
 * Issue 18, item 6: a JSON value of the wrong type is refused, never coerced. Before, `{"web": null}`
 * or `{"web": false}` scaled web to 0 (an outage), `{"name": ["a"]}` created a token named "a" and a
 * rollback to "0x1" rolled back to v1. Real Pilot, Docker, Caddy and git.
 */
describe('security: wrong JSON types are refused, not coerced', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
    const client = new GitClient(tempDir('types'));
    await client.init();
    await client.commit({
      'package.json': JSON.stringify({ name: 'typed', scripts: { start: 'node server.js' } }),
      'server.js': "require('http').createServer((q, s) => s.end('typed v1')).listen(process.env.PORT);\n",
    });
    const pushed = await pilot.push(client, 'typed');
    assert.equal(pushed.code, 0, pushed.stderr);
  });
  after(async () => {
    await pilot?.close();
  });

  function api(method: 'GET' | 'POST', url: string, body?: unknown) {
    return pilot.server.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { authorization: `Bearer ${pilot.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  }

  /** What must not change: the releases, the tokens, the running containers and the app's answer. */
  async function state(): Promise<unknown> {
    const releases = pilot.server.db.prepare('SELECT version, kind, status FROM releases ORDER BY id').all();
    const tokens = pilot.server.db.prepare('SELECT name, scope FROM tokens ORDER BY id').all();
    const processes = (await api('GET', '/apps/typed/ps')).json<{ type: string; index: number | null; container: string | null; state: string }[]>();
    const answer = await pilot.get('typed');
    return { releases, tokens, processes: processes.map(({ type, index, container, state }) => ({ type, index, container, state })), answer: [answer.status, answer.body] };
  }

  it('answers a scale to null or false, a token named ["a"] and a rollback to "0x1" with a 400, and changes nothing', async () => {
    const before = await state();
    assert.deepEqual((before as { answer: unknown }).answer, [200, 'typed v1']);
    assert.equal((before as { processes: unknown[] }).processes.length, 1, JSON.stringify(before));
    const refused: [string, unknown, RegExp][] = [
      ['/apps/typed/ps/scale', { web: null }, /^body\.web must be integer, got null$/],
      ['/apps/typed/ps/scale', { web: false }, /^body\.web must be integer, got the boolean false$/],
      ['/tokens', { name: ['a'] }, /^body\.name must be string, got an array$/],
      ['/apps/typed/rollback', { version: '0x1' }, /^body\.version must be integer or must match .*, got the string "0x1"$/],
    ];
    for (const [url, body, message] of refused) {
      const answer = await api('POST', url, body);
      assert.equal(answer.statusCode, 400, `${url} ${JSON.stringify(body)}: ${answer.body}`);
      const error = answer.json<{ error: string; message: string }>();
      assert.equal(error.error, 'PILOT_INVALID_INPUT');
      assert.match(error.message, message);
    }
    assert.deepEqual(await state(), before, 'the same releases, tokens and containers; the app still answers');
  });
});
