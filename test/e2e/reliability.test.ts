import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { GitClient, httpsGet, integrationSkipReason, localImages, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { PilotProcess } from '../helpers/pilot-process.js';

const skip = integrationSkipReason();
const docker = new Docker();

interface ReleaseRow {
  version: number;
  status: string;
  failure_reason: string | null;
}

/** Crashes of Pilot and of its Caddy while an app serves: nothing lost, nobody down, no debris. */
describe('reliability: kill -9 of Pilot and Caddy (real Docker, Caddy, git; Pilot as its own process)', { skip }, () => {
  let pilot: PilotProcess;
  let client: GitClient;

  before(async () => {
    pilot = await PilotProcess.start({ PILOT_SHUTDOWN_SECONDS: '3' });
    client = new GitClient(tempDir('reliable'));
    await client.init();
    await client.commit({ 'index.html': 'v1' });
    assertPushed(await push());
  });
  after(async () => {
    await pilot?.close();
  });

  function push(): Promise<GitResult> {
    return client.run(['push', remoteUrl(pilot.address, 'steady', pilot.token), 'HEAD:refs/heads/main']);
  }

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  }

  async function body(): Promise<string> {
    const answer = await httpsGet({ host: `steady.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    if (answer.status !== 200) throw new Error(`status ${answer.status}`);
    return answer.body;
  }

  /** Requests the app through Caddy without pause; every answer that is not a 200 is a failure. */
  function requestLoop() {
    let stop = false;
    const counts = { ok: 0, failed: [] as string[], bodies: new Set<string>() };
    const done = (async () => {
      while (!stop) {
        try {
          counts.bodies.add(await body());
          counts.ok += 1;
        } catch (error) {
          counts.failed.push(`${String(error)} at ${new Date().toISOString()}`);
        }
      }
    })();
    return {
      counts,
      async stop() {
        stop = true;
        await done;
      },
    };
  }

  function releases(): ReleaseRow[] {
    return pilot.query<ReleaseRow>("SELECT version, status, failure_reason FROM releases WHERE app_id = (SELECT id FROM apps WHERE name = 'steady') ORDER BY version");
  }

  async function releaseWithStatus(version: number, status: string): Promise<void> {
    await waitFor(`v${version} ${status}`, async () => (releases().find((row) => row.version === version)?.status === status ? true : undefined), 60_000, 20);
  }

  /** The release labels of the app's containers, as Docker has them. */
  async function containerReleases(): Promise<string[]> {
    const containers = await docker.listContainers({ all: true, filters: { label: [`pilot.instance=${pilot.instance}`, 'pilot.app=steady'] } });
    return containers.map((container) => container.Labels['pilot.release'] ?? '?').sort();
  }

  /** After each crash and restart: the database agrees with Docker and Caddy, and nothing is left over. */
  async function assertConsistent(liveVersion: number, expectedBody: string): Promise<void> {
    const live = releases().filter((row) => row.status === 'live');
    assert.deepEqual(live.map((row) => row.version), [liveVersion], 'one live release, the one serving');
    assert.deepEqual(releases().filter((row) => ['building', 'starting', 'checking'].includes(row.status)), [], 'no release stays in progress');
    // The previous release retires after its drain: wait for it, with a deadline.
    const settled = await waitFor('only the live release to have containers', async () => {
      const labels = await containerReleases();
      return labels.length === 1 && labels[0] === String(liveVersion) ? labels : undefined;
    }, 30_000).catch(async () => containerReleases());
    assert.deepEqual(settled, [String(liveVersion)], `only the live release has containers (after the drain); server log:\n${pilot.log.split('\n').filter((line) => /warn|error|reconcil|orphan|removed/i.test(line)).slice(-10).join('\n')}`);
    assert.equal(await body(), expectedBody);
  }

  it('kill -9 during a build: the old release serves throughout; the release is failed, nothing is left, pushes work again', async () => {
    const load = requestLoop();
    await client.commit({ Dockerfile: `FROM ${localImages().staticImage}\nRUN sleep 6\nCOPY index.html /srv/\n` });
    const pushing = push();
    await releaseWithStatus(2, 'building');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await pilot.crash();
    const result = await pushing;
    assert.notEqual(result.code, 0, 'the push of a deploy that never finished is not accepted');
    await pilot.launch();
    await load.stop();

    assert.deepEqual(load.counts.failed, [], `failed requests: ${load.counts.failed.slice(0, 3).join('; ')}`);
    assert.deepEqual([...load.counts.bodies], ['v1']);
    assert.match(releases().find((row) => row.version === 2)?.failure_reason ?? '', /Pilot stopped while this release was building/);
    await assertConsistent(1, 'v1');

    await client.ok(['rm', '-q', 'Dockerfile']);
    await client.commit({ 'index.html': 'v3' });
    assertPushed(await push());
    await assertConsistent(3, 'v3');
  });

  it('kill -9 during a health check: the candidate is removed at restart and the old release never stopped', async () => {
    const load = requestLoop();
    await client.commit({
      'package.json': JSON.stringify({ name: 'never-ready', scripts: { start: 'node server.js' } }),
      'server.js': "require('http').createServer((q, s) => s.end('wrong port')).listen(9);\n",
    });
    const pushing = push();
    await releaseWithStatus(4, 'checking');
    await pilot.crash();
    await pushing;
    await pilot.launch();
    await load.stop();

    assert.deepEqual(load.counts.failed, [], `failed requests: ${load.counts.failed.slice(0, 3).join('; ')}`);
    assert.match(releases().find((row) => row.version === 4)?.failure_reason ?? '', /Pilot stopped while this release was checking/);
    await assertConsistent(3, 'v3');
  });

  it('kill -9 right after the switch: the new release serves, the old one is retired at restart', async () => {
    await client.ok(['rm', '-q', 'package.json', 'server.js']);
    await client.commit({ 'index.html': 'v5' });
    const load = requestLoop();
    const pushing = push();
    await releaseWithStatus(5, 'live');
    const crashedAt = new Date().toISOString();
    await pilot.crash();
    await pushing;
    const launchedAt = new Date().toISOString();
    await pilot.launch();
    await load.stop();
    if (load.counts.failed.length > 0) console.error(`crashed ${crashedAt}, launched ${launchedAt}, started ${new Date().toISOString()}`);

    assert.deepEqual(load.counts.failed, [], `failed requests: ${load.counts.failed.slice(0, 3).join('; ')}`);
    await assertConsistent(5, 'v5');
  });

  it('SIGTERM during a build: no new push, the deploy is failed within the bound, Pilot exits, the app serves on', async () => {
    const load = requestLoop();
    await client.commit({ Dockerfile: `FROM ${localImages().staticImage}\nRUN sleep 8\nCOPY index.html /srv/\n` });
    const pushing = push();
    await releaseWithStatus(6, 'building');
    const exitCode = await pilot.terminate();
    const result = await pushing;
    assert.equal(exitCode, 0);
    assert.notEqual(result.code, 0, 'the push of a deploy stopped at shutdown is rejected');
    assert.match(releases().find((row) => row.version === 6)?.failure_reason ?? '', /Pilot stopped while this release was building/);
    assert.equal(await body(), 'v5', 'the app serves while Pilot is down');
    await pilot.launch();
    await load.stop();
    assert.deepEqual(load.counts.failed, [], `failed requests: ${load.counts.failed.slice(0, 3).join('; ')}`);
    await assertConsistent(5, 'v5');
    await client.ok(['rm', '-q', 'Dockerfile']);
    await client.commit({ 'index.html': 'v7' });
    assertPushed(await push());
    await assertConsistent(7, 'v7');
  });

  it('a restarted Pilot adopts the Caddy that outlived it, and restarts a killed Caddy with its routes', async () => {
    const before = pilot.caddyPid();
    assert.ok(before, 'Caddy wrote its pid file');
    await pilot.crash();
    await pilot.launch();
    assert.equal(pilot.caddyPid(), before, 'the same Caddy serves on');
    assert.match(pilot.log, /adopted the running Caddy/);

    process.kill(before, 'SIGKILL');
    const answer = await waitFor('the app through a restarted Caddy', async () => body().catch(() => undefined), 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\nserver log:\n${pilot.log.split('\n').slice(-15).join('\n')}\ncaddy log:\n${pilot.caddyLog().split('\n').slice(-15).join('\n')}`);
    });
    assert.equal(answer, 'v7');
    assert.notEqual(pilot.caddyPid(), before);
    await assertConsistent(7, 'v7');
  });
});
