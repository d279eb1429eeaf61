import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/** A web process that says its version; with `failAfterSeconds` it answers 500 to everything (its check included) once that long after its start. */
function appFiles(version: string, failAfterSeconds?: number): Record<string, string> {
  const failing = failAfterSeconds === undefined ? 'false' : `Date.now() - started > ${failAfterSeconds * 1000}`;
  return {
    'package.json': JSON.stringify({ name: 'auto-rollback-app', version: '1.0.0' }),
    Procfile: 'web: node web.js\n',
    'app.json': JSON.stringify({ healthchecks: { web: [{ path: '/health' }] } }),
    'web.js':
      'const started = Date.now();\n' +
      "require('http').createServer((request, response) => {\n" +
      `  if (${failing}) { response.statusCode = 500; response.end('broken'); return; }\n` +
      `  response.end(request.url === '/health' ? 'ok' : '${version}');\n` +
      '}).listen(process.env.PORT);\n',
  };
}

describe('automatic rollback of a release that turns unhealthy after going live (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot({ PILOT_HEALTH_INTERVAL: '1', PILOT_UNHEALTHY_AFTER: '2', PILOT_WATCH_SECONDS: '60' });
  });
  after(async () => {
    await pilot?.close();
  });

  const api = async <T>(url: string): Promise<T> => {
    const answer = await pilot.server.app.inject({ url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` } });
    assert.equal(answer.statusCode, 200, answer.body);
    return answer.json() as T;
  };

  it('passes its check, starts failing 5 s later, and the previous release serves again without anyone acting', async () => {
    const client = new GitClient(tempDir('auto-rollback'));
    await client.init();
    await client.commit(appFiles('v1'));
    assert.equal((await pilot.push(client, 'ar')).code, 0);
    await client.commit(appFiles('v2', 5));
    const pushed = await pilot.push(client, 'ar');
    assert.equal(pushed.code, 0, `v2 passes its check at first: ${pushed.stderr}`);
    assert.equal((await pilot.get('ar')).body, 'v2');

    // Requests as a visitor makes them, from v2 going live until v1 serves again.
    let requests = 0;
    let failed = 0;
    const back = await waitFor('v1 serving again', async () => {
      requests += 1;
      const answer = await pilot.get('ar').catch(() => undefined);
      if (answer?.status !== 200) failed += 1;
      return answer?.body === 'v1' ? true : undefined;
    }, 90_000, 100);
    assert.equal(back, true);
    console.log(`automatic rollback: ${failed} of ${requests} requests failed between v2 going live and v1 serving again`);

    const releases = await api<{ version: number; kind: string; status: string }[]>('/apps/ar/releases');
    const live = releases.find((release) => release.status === 'live');
    assert.deepEqual({ version: live?.version, kind: live?.kind }, { version: 3, kind: 'rollback' });
    const events = await api<{ kind: string; message: string }[]>('/apps/ar/events');
    const automatic = events.find((event) => event.kind === 'rollback.automatic');
    assert.match(automatic?.message ?? '', /^automatic rollback of v2: web\.1 of v2 is unhealthy: GET \/health answered 500 .*; v1 serves again as v3$/);
    const log = (await api<{ log: string }>('/apps/ar/releases/3')).log;
    assert.match(log, /automatic rollback of v2: /);
    // Still v1, for good: the rolled-back release is not watched, and v2 is gone.
    await waitFor('v2 retired', async () => ((await api<{ release: number }[]>('/apps/ar/ps')).every((process) => process.release === 3) ? true : undefined));
    assert.equal((await pilot.get('ar')).body, 'v1');
  });
});
