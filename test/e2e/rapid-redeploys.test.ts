import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/** Pushes faster than the drain: the slot of the release before last is still draining. */
describe('rapid redeploys (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '6' });
  });
  after(async () => {
    await pilot?.close();
  });

  it('waits for the release before last to drain instead of cutting it off, with no failed request', async () => {
    const client = new GitClient(tempDir('rapid'));
    await client.init();
    let stop = false;
    const counts = { ok: 0, failed: [] as string[] };
    const load = (async () => {
      while (!stop) {
        try {
          const answer = await httpsGet({ host: `rapid.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
          if (answer.status === 200) counts.ok += 1;
          else if (counts.ok > 0) counts.failed.push(`status ${answer.status}`);
        } catch (error) {
          if (counts.ok > 0) counts.failed.push(String(error));
        }
      }
    })();
    const outputs: string[] = [];
    for (const version of [1, 2, 3]) {
      await client.commit({ 'index.html': `v${version}` });
      const result = await client.run(['push', remoteUrl(pilot.server.address, 'rapid', pilot.token), 'HEAD:refs/heads/main']);
      assert.equal(result.code, 0, result.stderr);
      outputs.push(result.stderr);
    }
    await pilot.server.deployer.settle();
    stop = true;
    await load;

    assert.match(outputs[2] ?? '', /-----> Waiting for v1 to finish draining/);
    assert.ok(counts.ok > 10, `the load loop made only ${counts.ok} requests`);
    assert.deepEqual(counts.failed, [], `failed requests: ${counts.failed.slice(0, 3).join('; ')}`);
    const answer = await waitFor('v3', async () => (await httpsGet({ host: `rapid.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile })).body);
    assert.equal(answer, 'v3');
    const containers = await pilot.server.engine.listContainers({ 'pilot.instance': pilot.server.config.instance, 'pilot.app': 'rapid' });
    assert.deepEqual(containers.map((container) => container.labels['pilot.release']), ['3']);
  });
});
