import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { ApiDeps } from '../../../src/http/api/context.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function send(app: FastifyInstance, method: Method, url: string, body?: unknown) {
  const answer = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: answer.statusCode, body: answer.json<Record<string, unknown> & unknown[]>() };
}

/**
 * Every route that takes a body, with bodies of the wrong JSON type or out of bounds: each is
 * a 400 that names the field and what it got. Nothing is coerced: `null` and `false` are not
 * 0, `["a"]` is not "a", "0x1" is not 1.
 */
const REFUSED_BODIES: Record<string, [body: unknown, message: RegExp][]> = {
  'POST /api/v1/apps': [
    [{ name: 42 }, /^body\.name must be string, got the number 42$/],
    [{ name: ['shop'] }, /^body\.name must be string, got an array$/],
    [{ name: null }, /^body\.name must be string, got null$/],
    [{ name: 'x'.repeat(65) }, /^body\.name must NOT have more than 64 characters/],
    [{ name: 'shop', admin: true }, /^body has an unknown field "admin"$/],
    [{}, /^body needs the field "name"$/],
    [null, /^body must be object, got null$/],
    ['shop', /^body must be object, got the string "shop"$/],
    [{ name: 'shop', repo: 'https://github.com/a/b.git' }, /^body\.repo must be object, got the string "https:\/\/github\.com\/a\/b\.git"$/],
    [{ name: 'shop', repo: { url: 'https://github.com/a/b.git', branch: null } }, /^body\.repo\.branch must be string, got null$/],
  ],
  'PATCH /api/v1/apps/a': [
    [{ buildDir: 5 }, /^body\.buildDir must be string or must be null, got the number 5$/],
    [{ buildDir: false }, /^body\.buildDir must be string or must be null, got the boolean false$/],
    [{ buildDir: 'x'.repeat(301) }, /^body\.buildDir must NOT have more than 300 characters/],
    [{ buildDir: '' }, /^body\.buildDir must NOT have fewer than 1 characters/],
    [{}, /^body must NOT have fewer than 1 properties$/],
    [{ watchSeconds: -1 }, /^body\.watchSeconds must be >= 0 or must be null, got the number -1$/],
    [{ watchSeconds: '60' }, /^body\.watchSeconds must be integer or must be null, got the string "60"$/],
  ],
  'POST /api/v1/apps/a/deploys/image': [
    [{}, /^body needs the field "image"$/],
    [{ image: '-x' }, /^body\.image must match .*, got the string "-x"$/],
    [{ image: 'shop:1', pull: true }, /^body has an unknown field "pull"$/],
  ],
  'POST /api/v1/apps/a/domains': [
    [{ domain: ['www.example.com'] }, /^body\.domain must be string, got an array$/],
    [{ domain: 7 }, /^body\.domain must be string, got the number 7$/],
    [{ domain: 'www.example.com', force: true }, /^body has an unknown field "force"$/],
  ],
  'POST /api/v1/apps/a/rollback': [
    [{ version: '0x1' }, /^body\.version must be integer or must match \^v\?\[0-9\]\{1,9\}\$, got the string "0x1"$/],
    [{ version: ' 1' }, /^body\.version must be integer or must match .*, got the string " 1"$/],
    [{ version: true }, /^body\.version must be integer or must be string, got the boolean true$/],
    [{ version: null }, /^body\.version must be integer or must be string, got null$/],
    [{ version: 1.5 }, /^body\.version must be integer or must be string, got the number 1\.5$/],
    [{ version: 0 }, /^body\.version must be >= 1 or must be string, got the number 0$/],
    [{ version: 1, to: 2 }, /^body has an unknown field "to"$/],
    [[1], /^body must be object, got an array$/],
  ],
  'PATCH /api/v1/apps/a/config': [
    [{ set: { A: null } }, /"set\.A" must be a string, got null/],
    [{ set: { A: 5 } }, /"set\.A" must be a string, got the number 5/],
    [{ unset: 'A' }, /"unset" must be an array of config var names/],
    [{ unset: [1] }, /"unset" must be an array of config var names/],
    [{ build: { A: 'true' } }, /"build\.A" must be true \(build and runtime\) or false \(runtime only\), got the string "true"/],
    [{ set: Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`K${index}`, 'v'])) }, /^body\.set must NOT have more than 200 properties$/],
  ],
  'POST /api/v1/apps/a/ps/scale': [
    [{ web: null }, /^body\.web must be integer, got null$/],
    [{ web: false }, /^body\.web must be integer, got the boolean false$/],
    [{ web: '0' }, /^body\.web must be integer, got the string "0"$/],
    [{ web: [2] }, /^body\.web must be integer, got an array$/],
    [{ web: 1.5 }, /^body\.web must be integer, got the number 1\.5$/],
    [{ web: -1 }, /^body\.web must be >= 0, got the number -1$/],
    [{ web: 21 }, /^body\.web must be <= 20, got the number 21$/],
    [{ 'we b': 1 }, /^body has an unknown field "we b"$/],
    [{}, /^body must NOT have fewer than 1 properties$/],
    [null, /^body must be object, got null$/],
  ],
  'POST /api/v1/apps/a/ps/{action}': [
    [{ type: 5 }, /^body\.type must be string, got the number 5$/],
    [{ type: ['web'] }, /^body\.type must be string, got an array$/],
    [{ type: 'we b' }, /^body\.type must match/],
    [{ type: 'web', all: true }, /^body has an unknown field "all"$/],
  ],
  'POST /api/v1/apps/a/links': [
    [{ app: 5 }, /^body\.app must be string, got the number 5$/],
    [{ app: '' }, /^body\.app must NOT have fewer than 1 characters/],
    [{ app: 'b', both: true }, /^body has an unknown field "both"$/],
    [{}, /^body needs the field "app"$/],
  ],
  'POST /api/v1/apps/a/maintenance': [
    [{ enabled: 'true' }, /^body\.enabled must be boolean, got the string "true"$/],
    [{ enabled: 1 }, /^body\.enabled must be boolean, got the number 1$/],
    [{}, /^body needs the field "enabled"$/],
    [{ enabled: true, page: 'x' }, /^body has an unknown field "page"$/],
  ],
  'POST /api/v1/apps/a/rename': [
    [{ name: 5 }, /^body\.name must be string, got the number 5$/],
    [{ name: '' }, /^body\.name must NOT have fewer than 1 characters/],
    [{ name: 'b', keep: true }, /^body has an unknown field "keep"$/],
    [{}, /^body needs the field "name"$/],
  ],
  'POST /api/v1/tokens': [
    [{ name: ['a'] }, /^body\.name must be string, got an array$/],
    [{ name: 5 }, /^body\.name must be string, got the number 5$/],
    [{ name: 'ci', app: null }, /^body\.app must be string, got null$/],
    [{ name: 'ci', app: ['a'] }, /^body\.app must be string, got an array$/],
    [{ name: 'ci', scope: 'admin' }, /^body has an unknown field "scope"$/],
    [{ name: '' }, /^body\.name must NOT have fewer than 1 characters/],
  ],
  'PUT /api/v1/apps/a/repo': [
    [{}, /^body needs the field "url"$/],
    [{ url: ['https://github.com/a/b.git'] }, /^body\.url must be string, got an array$/],
    [{ url: 'https://github.com/a/b.git', credential: 5 }, /^body\.credential must be string or must be null, got the number 5$/],
    [{ url: 'https://github.com/a/b.git', branch: '' }, /^body\.branch must NOT have fewer than 1 characters/],
    [{ url: 'https://github.com/a/b.git', secret: 'x' }, /^body has an unknown field "secret"$/],
  ],
  'POST /api/v1/webhooks': [
    [{ url: 5 }, /^body\.url must be string, got the number 5$/],
    [{ url: 'https://example.com', events: 'rollback' }, /^body\.events must be array, got the string "rollback"$/],
    [{ url: 'https://example.com', secret: 'short' }, /^body\.secret must NOT have fewer than 16 characters/],
    [{ url: 'https://example.com', kinds: [] }, /^body has an unknown field "kinds"$/],
  ],
  'POST /api/v1/apps/a/webhooks': [
    [{}, /^body needs the field "url"$/],
    [{ url: 'https://example.com', events: [null] }, /^body\.events\.0 must be equal to one of the allowed values, got null$/],
  ],
  'PATCH /api/v1/apps/a/limits': [
    [{ cpus: '1' }, /^body\.cpus must be number or must be null, got the string "1"$/],
    [{ cpus: true }, /^body\.cpus must be number or must be null, got the boolean true$/],
    [{ cpus: 0 }, /^body\.cpus must be >= 0\.05 or must be null, got the number 0$/],
    [{ memory: 256 }, /^body\.memory must be string or must be null, got the number 256$/],
    [{ memory: ['256m'] }, /^body\.memory must be string or must be null, got an array$/],
    [{ capAdd: 'NET_RAW' }, /^body\.capAdd must be array or must be null, got the string "NET_RAW"$/],
    [{ capAdd: [5] }, /^body\.capAdd\.0 must be string, got the number 5$/],
    [{}, /^body must NOT have fewer than 1 properties$/],
  ],
  'PATCH /api/v1/apps/a/previews': [
    [{}, /^body needs the field "enabled"$/],
    [{ enabled: 'yes' }, /^body\.enabled must be boolean, got the string "yes"$/],
    [{ enabled: true, maxPreviews: 0 }, /^body\.maxPreviews must be >= 1, got the number 0$/],
    [{ enabled: true, maxPreviews: '3' }, /^body\.maxPreviews must be integer, got the string "3"$/],
    [{ enabled: true, pattern: 5 }, /^body\.pattern must be string or must be null, got the number 5$/],
    [{ enabled: true, pattern: '' }, /^body\.pattern must NOT have fewer than 1 characters/],
  ],
  'PATCH /api/v1/apps/a/previews/config': [
    [{ set: { BANNER: 1 } }, /^body\.set\.BANNER must be string, got the number 1$/],
    [{ unset: 'BANNER' }, /^body\.unset must be array, got the string "BANNER"$/],
    [{ vars: {} }, /^body has an unknown field "vars"$/],
  ],
  'POST /api/v1/apps/a/storage': [
    [{ path: ['/data'] }, /^body\.path must be string, got an array$/],
    [{ path: null }, /^body\.path must be string, got null$/],
    [{ path: `/${'x'.repeat(256)}` }, /^body\.path must NOT have more than 256 characters/],
    [{ path: '/data', name: 'x' }, /^body has an unknown field "name"$/],
  ],
};

/** Querystrings are strings on the wire: numbers and booleans are read from them, anything else is refused. */
const REFUSED_QUERIES: [url: string, message: RegExp][] = [
  ['GET /api/v1/apps/a/logs?lines=abc', /^querystring\.lines must be integer, got the string "abc"$/],
  ['GET /api/v1/apps/a/logs?lines=', /^querystring\.lines must be integer, got the string ""$/],
  ['GET /api/v1/apps/a/logs?lines=0', /^querystring\.lines must be >= 1/],
  ['GET /api/v1/apps/a/logs?lines=10001', /^querystring\.lines must be <= 10000/],
  ['GET /api/v1/apps/a/logs?tail=5', /^querystring has an unknown field "tail"$/],
  ['GET /api/v1/apps/a/cron/runs?limit=many', /^querystring\.limit must be integer, got the string "many"$/],
  ['GET /api/v1/apps/a/cron/runs?entry=../x', /^querystring\.entry must match/],
  ['DELETE /api/v1/apps/a?confirm=a&volumes=maybe', /^querystring\.volumes must be boolean, got the string "maybe"$/],
  ['DELETE /api/v1/apps/a/storage', /^querystring needs the field "path"$/],
  ['GET /api/v1/apps/a/releases/0x1', /^params\.version must match/],
];

function parse(route: string): { method: Method; url: string } {
  const [method, url] = route.split(' ') as [Method, string];
  return { method, url: url.replace('{action}', 'restart') };
}

describe('API validation (buildApp with fakes)', () => {
  it('has a table of refused bodies for every route that takes one', async (t) => {
    const { app } = await buildTestApp(t);
    await app.ready();
    const document = app.swagger() as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
    const withBody = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.requestBody !== undefined)
        .map(([method]) => `${method.toUpperCase()} ${path.replace('{app}', 'a')}`),
    );
    assert.deepEqual(withBody.sort(), Object.keys(REFUSED_BODIES).sort());
  });

  it('refuses every body of a wrong type or out of bounds with a 400 naming the field, and changes nothing', async (t) => {
    const { app, reached, tokens, configVars, apps } = await buildTestApp(t, { apps: ['a'] });
    const appId = apps.findByName('a')?.id ?? 0;
    configVars.replace(appId, { A: 'kept' }, []);
    for (const [route, cases] of Object.entries(REFUSED_BODIES)) {
      const { method, url } = parse(route);
      for (const [body, message] of cases) {
        const answer = await send(app, method, url, body);
        const what = `${route} ${JSON.stringify(body).slice(0, 80)}`;
        assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
        assert.deepEqual(Object.keys(answer.body).sort(), ['error', 'message'], what);
        assert.equal(answer.body.error, 'PILOT_INVALID_INPUT', what);
        assert.match(String(answer.body.message), message, what);
      }
    }
    assert.deepEqual(reached.services, [], 'no refused body reached a service');
    assert.deepEqual(apps.list().map((app) => [app.name, app.buildDir]), [['a', null]]);
    assert.deepEqual(configVars.get(appId), { A: 'kept' });
    assert.deepEqual(tokens.list().map((token) => token.name), ['admin']);
  });

  it('takes the bounds themselves', async (t) => {
    const scaled: unknown[] = [];
    const { app } = await buildTestApp(t, {
      apps: ['a'],
      replace: () => ({ processes: { scale: async (_app: unknown, quantities: unknown) => (scaled.push(quantities), []) } as unknown as ApiDeps['processes'] }),
    });
    for (const body of [{ web: 0 }, { web: 20, 'worker_2-b': 1 }]) {
      const answer = await send(app, 'POST', '/api/v1/apps/a/ps/scale', body);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    assert.deepEqual(scaled, [{ web: 0 }, { web: 20, 'worker_2-b': 1 }]);
    const created = await send(app, 'POST', '/api/v1/tokens', { name: 'x'.repeat(64), app: 'a' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.scope, 'app');
  });

  it('takes a rollback version as a number or "vN" only, and a rollback without a body', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['a'] });
    // The app has no release: an accepted version is looked up, and is not there.
    for (const version of [1, '1', 'v1']) {
      const answer = await send(app, 'POST', '/api/v1/apps/a/rollback', { version });
      assert.equal(answer.status, 404, JSON.stringify(answer.body));
      assert.equal(answer.body.message, 'a has no release v1 (see `pilot releases`)');
    }
    const bare = await app.inject({ method: 'POST', url: '/api/v1/apps/a/rollback', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.equal(bare.statusCode, 409);
    assert.match(bare.json<{ message: string }>().message, /has no live release to roll back from/);
  });

  it('reads numbers and booleans from querystrings, and refuses what is not one', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a'] });
    for (const [route, message] of REFUSED_QUERIES) {
      const { method, url } = parse(route);
      const answer = await send(app, method, url);
      assert.equal(answer.status, 400, `${route}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error, 'PILOT_INVALID_INPUT', route);
      assert.match(String(answer.body.message), message, route);
    }
    assert.deepEqual(reached.services, []);
    const destroy = await send(app, 'DELETE', '/api/v1/apps/a?confirm=b&volumes=true');
    assert.equal(destroy.status, 400);
    assert.match(String(destroy.body.message), /repeat its name in \?confirm=a/, 'volumes=true was read as a boolean');
  });
  it('refuses a `pilot run` message of the wrong shape before anything runs', async (t) => {
    const { app, reached } = await buildTestApp(t, { apps: ['a'] });
    const refused: [message: unknown, reason: RegExp][] = [
      [{ command: 'rm -rf /' }, /^message\.command must be array$/],
      [{ command: [] }, /^message\.command must not have fewer than 1 items$/],
      [{ command: ['ls', 5] }, /^message\.command\.1 must be string$/],
      [{ command: ['ls'], tty: 'yes' }, /^message\.tty must be boolean$/],
      [{ command: ['ls'], columns: -1 }, /^message\.columns must be >= 0$/],
      [{ cmd: ['ls'] }, /^message has an unknown field "cmd"$/],
      [[], /^message must be object$/],
    ];
    // A real socket: the upgrade, then one message.
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const [message, reason] of refused) {
      const socket = new WebSocket(`${address.replace(/^http/, 'ws')}/api/v1/apps/a/run`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      const answers: unknown[] = [];
      socket.on('open', () => socket.send(JSON.stringify(message)));
      socket.on('message', (data) => answers.push(JSON.parse(String(data))));
      const closed = await new Promise<number>((resolve) => socket.on('close', resolve));
      assert.equal(closed, 1011, JSON.stringify(message));
      assert.equal(answers.length, 1, JSON.stringify(answers));
      assert.match((answers[0] as { error: string }).error, reason, JSON.stringify(message));
    }
    assert.deepEqual(reached.services, [], 'nothing ran');
  });
});

describe('API error shapes', () => {
  it('answers every refusal as {error, message}', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['a'] });
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    const json = { ...admin, 'content-type': 'application/json' };
    const answers: [string, Awaited<ReturnType<FastifyInstance['inject']>>, number, string, RegExp][] = [
      ['malformed JSON', await app.inject({ method: 'POST', url: '/api/v1/apps', headers: json, payload: '{"name": ' }), 400, 'PILOT_INVALID_JSON', /not valid JSON/],
      ['empty JSON body', await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: json, payload: '' }), 400, 'PILOT_INVALID_JSON', /empty/],
      ['a body that is not JSON', await app.inject({ method: 'POST', url: '/api/v1/apps', headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=a' }), 415, 'PILOT_UNSUPPORTED_MEDIA_TYPE', /application\/json/],
      ['a body over 1 MiB', await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: json, payload: JSON.stringify({ name: 'x'.repeat(1024 * 1024) }) }), 413, 'PILOT_BODY_TOO_LARGE', /too large/],
      ['an unknown route', await app.inject({ method: 'GET', url: '/api/v1/nothing?x=1', headers: admin }), 404, 'PILOT_NOT_FOUND', /^no route GET \/api\/v1\/nothing$/],
      ['an unknown app', await app.inject({ method: 'GET', url: '/api/v1/apps/zz/releases', headers: admin }), 404, 'PILOT_NOT_FOUND', /no app named "zz"/],
      ['an unknown process action', await app.inject({ method: 'POST', url: '/api/v1/apps/a/ps/reboot', headers: admin }), 400, 'PILOT_INVALID_INPUT', /^params\.action must be equal to one of the allowed values, got the string "reboot"$/],
    ];
    for (const [what, answer, status, error, message] of answers) {
      assert.equal(answer.statusCode, status, `${what}: ${answer.body}`);
      assert.match(String(answer.headers['content-type']), /^application\/json/, what);
      const body = answer.json<Record<string, unknown>>();
      assert.deepEqual(Object.keys(body).sort(), ['error', 'message'], what);
      assert.equal(body.error, error, what);
      assert.match(String(body.message), message, what);
    }
  });
});
