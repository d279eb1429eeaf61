import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiDeps } from '../../../src/http/api/context.js';
import type { App } from '../../../src/domain/types.js';
import type { AppChange, ImageRelease } from '../../../src/pipeline/deploy.js';
import type { Release } from '../../../src/domain/types.js';
import { goLive } from '../../helpers/releases.js';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';

/** The real control plane on SQLite ':memory:' with a fake deployer that records the releases asked for (each goes live). */
async function configApi(t: { after(fn: () => Promise<unknown>): void }, options: { live: boolean }) {
  const asked: ImageRelease[] = [];
  const { app: server, apps, releases, configVars } = await buildTestApp(t, {
    apps: ['shop'],
    replace: ({ releases, configVars }) => ({
      deployer: {
        async changeApp(target: App, decide: (live: Release | undefined) => AppChange) {
          const change = decide(releases.live(target.id));
          if (!change.release) {
            change.commit();
            return null;
          }
          const request = change.release;
          asked.push(request);
          const release = releases.create({ appId: target.id, kind: request.kind, gitSha: request.from.gitSha, config: request.config, buildKeys: request.from.buildKeys, madeBy: request.madeBy });
          goLive(releases, release.id);
          configVars.replace(target.id, request.config, request.buildKeys);
          change.commit();
          return releases.get(release.id);
        },
      } as unknown as ApiDeps['deployer'],
    }),
  });
  const app = apps.findByName('shop') as App;
  configVars.replace(app.id, { GREETING: 'hi', VITE_API_URL: 'https://old' }, ['VITE_API_URL']);
  if (options.live) {
    const live = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: configVars.get(app.id), buildKeys: ['VITE_API_URL'] });
    releases.update(live.id, { image: 'pt/shop:v1', port: 5000 });
    goLive(releases, live.id);
  }
  const call = async (method: 'GET' | 'PATCH' | 'POST', body?: unknown, url = '/api/v1/apps/shop/config') => {
    const response = await server.inject({
      method,
      url,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  return { call, asked, configVars, releases, app };
}

describe('PATCH /api/v1/apps/:app/config with build vars', () => {
  it('answers 400 with a message for each wrong JSON type, and changes nothing', async (t) => {
    const { call, configVars, app } = await configApi(t, { live: true });
    const refused: [unknown, RegExp][] = [
      [{ set: { A: null } }, /"set.A" must be a string, got null/],
      [{ set: { A: 5 } }, /"set.A" must be a string, got the number 5/],
      [{ build: { GREETING: 'true' } }, /"build.GREETING" must be true \(build and runtime\) or false \(runtime only\), got the string "true"/],
      [{ build: ['GREETING'] }, /"build" must be an object/],
      [{ setBuild: { A: '1' } }, /unknown field "setBuild"/],
      [{ build: { NOPE: true } }, /cannot make "NOPE" a build var: it is not set/],
    ];
    for (const [body, message] of refused) {
      const answer = await call('PATCH', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match(String(answer.body.message), message);
    }
    assert.deepEqual(configVars.get(app.id), { GREETING: 'hi', VITE_API_URL: 'https://old' });
    assert.deepEqual(configVars.buildKeys(app.id), ['VITE_API_URL']);
  });

  it('flips build-ness of a live app without a release, and says the next build sees it', async (t) => {
    const { call, asked, releases, app } = await configApi(t, { live: true });
    const answer = await call('PATCH', { build: { GREETING: true, VITE_API_URL: false } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { config: { GREETING: 'hi', VITE_API_URL: 'https://old' }, buildKeys: ['GREETING'], nextBuild: ['GREETING', 'VITE_API_URL'], release: null });
    assert.equal(asked.length, 0);
    assert.equal(releases.list(app.id).length, 1);
    assert.deepEqual((await call('GET')).body, { config: { GREETING: 'hi', VITE_API_URL: 'https://old' }, buildKeys: ['GREETING'] });
  });

  it('rolls a changed build var value out to the runtime as a release that keeps the image\'s build facts', async (t) => {
    const { call, asked } = await configApi(t, { live: true });
    const answer = await call('PATCH', { set: { VITE_API_URL: 'https://new', TOKEN: 'npm_x' }, build: { TOKEN: true } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(asked[0]?.buildKeys, ['TOKEN', 'VITE_API_URL']);
    assert.deepEqual(answer.body.buildKeys, ['TOKEN', 'VITE_API_URL']);
    assert.deepEqual(answer.body.nextBuild, ['TOKEN', 'VITE_API_URL']);
    const release = answer.body.release as { kind: string; buildKeys: string[] };
    assert.equal(release.kind, 'config');
    assert.deepEqual(release.buildKeys, ['VITE_API_URL'], 'the image was built with VITE_API_URL only');
  });

  it('records the token that changed the config or rolled back as who made the release', async (t) => {
    const { call } = await configApi(t, { live: true });
    const admin = { kind: 'token', tokenId: 1, label: 'admin token admin' };
    const changed = await call('PATCH', { set: { GREETING: 'hello' } });
    assert.deepEqual((changed.body.release as { madeBy: unknown }).madeBy, admin);
    const rolledBack = await call('POST', { version: 1 }, '/api/v1/apps/shop/rollback');
    assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
    assert.deepEqual(rolledBack.body.madeBy, admin);
    const listed = await call('GET', undefined, '/api/v1/apps/shop/releases');
    assert.deepEqual((listed.body as unknown as { madeBy: unknown }[]).map((release) => release.madeBy), [admin, admin, null]);
  });

  it('keeps build vars of an app that does not run yet for its first deploy', async (t) => {
    const { call, configVars, app } = await configApi(t, { live: false });
    const answer = await call('PATCH', { set: { NEXT_PUBLIC_SITE: 'shop' }, build: { NEXT_PUBLIC_SITE: true } });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.release, null);
    assert.deepEqual(configVars.buildKeys(app.id), ['NEXT_PUBLIC_SITE', 'VITE_API_URL']);
  });
});
