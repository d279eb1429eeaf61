import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { TEST_ADMIN_TOKEN, buildTestApp } from '../../helpers/api.js';
import { runPilot, spawnPilot } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/integration.js';

describe('pilot events and webhooks (the real CLI against buildApp with fakes)', () => {
  it('prints an app timeline, then with -f each new event of it as it is recorded', async (t) => {
    const { app, events, apps } = await buildTestApp(t, { apps: ['shop', 'blog'] });
    const shop = apps.findByName('shop')!.id;
    events.record({ appId: shop, app: 'shop', kind: 'deploy.succeeded', message: 'v1 is live', release: 1 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const env = { HOME: os.tmpdir(), PILOT_URL: url, PILOT_TOKEN: TEST_ADMIN_TOKEN };
    const listed = await runPilot(['events', '-a', 'shop'], os.tmpdir(), env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /shop deploy\.succeeded: v1 is live/);

    const follower = spawnPilot(['events', '-a', 'shop', '-f'], os.tmpdir(), env);
    t.after(() => void follower.kill('SIGKILL'));
    let printed = '';
    follower.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    await waitFor('the recent events printed', async () => (printed.includes('v1 is live') ? true : undefined), 20_000);
    // Recorded until the follower's socket is in: the stream then sends each once.
    await waitFor('a new event followed', async () => {
      if (!printed.includes('process.crashed')) events.record({ appId: shop, app: 'shop', kind: 'process.crashed', message: 'web.1 of v1 exited and was restarted', release: 1, process: 'web.1' });
      events.record({ appId: apps.findByName('blog')!.id, app: 'blog', kind: 'restart', message: 'of another app' });
      return printed.includes('process.crashed') ? true : undefined;
    }, 20_000, 500);
    assert.doesNotMatch(printed, /of another app/);
    assert.equal(printed.match(/v1 is live/g)?.length, 1, 'nothing printed twice');
  });

  it('webhooks:add prints the secret once; webhooks lists without it', async (t) => {
    const { app } = await buildTestApp(t, { apps: ['shop'] });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const env = { HOME: os.tmpdir(), PILOT_URL: url, PILOT_TOKEN: TEST_ADMIN_TOKEN };
    const added = await runPilot(['webhooks:add', 'https://example.com/hook', '--events', 'deploy.failed,rollback.automatic', '-a', 'shop'], os.tmpdir(), env);
    assert.equal(added.code, 0, added.stderr);
    const secret = /Signing secret \(shown once\): ([0-9a-f]{64})/.exec(added.stdout)?.[1];
    assert.ok(secret, added.stdout);
    const listed = await runPilot(['webhooks', '-a', 'shop'], os.tmpdir(), env);
    assert.match(listed.stdout, /https:\/\/example\.com\/hook\s+deploy\.failed,rollback\.automatic/);
    assert.ok(!listed.stdout.includes(secret));
    const refused = await runPilot(['webhooks:add', 'https://example.com/hook', '--events', 'deploy.exploded'], os.tmpdir(), env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /deploy\.exploded/);
  });
});
