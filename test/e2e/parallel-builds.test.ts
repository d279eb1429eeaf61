import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

/**
 * A gate the builds wait at inside their RUN step, without any network between the build and
 * the test: a build has arrived when its RUN container runs (the engine lists it), and goes on
 * once the test creates /tmp/go inside that container (`docker exec`). What is inside the build
 * at a time is then known exactly, whatever the machine's firewall or bridge does.
 */
class BuildGate {
  private readonly docker = new Docker();

  constructor(private readonly marker: string) {}

  /** The RUN step of `app`'s build: waits at the gate. */
  runStep(app: string): string {
    return `RUN echo ${this.tag(app)} && until [ -e /tmp/go ]; do sleep 0.1; done`;
  }

  /** Apps whose build waits at the gate now. */
  async arrived(): Promise<string[]> {
    const running = await this.docker.listContainers();
    return running.flatMap((container) => {
      const app = new RegExp(`${this.marker}-([a-z]+)\\b`).exec(container.Command)?.[1];
      return app ? [app] : [];
    });
  }

  async release(app: string): Promise<void> {
    const running = await this.docker.listContainers();
    const waiting = running.find((container) => container.Command.includes(this.tag(app)));
    assert.ok(waiting, `the build of ${app} is not at the gate`);
    execFileSync('docker', ['exec', waiting.Id, 'touch', '/tmp/go']);
  }

  private tag(app: string): string {
    return `${this.marker}-${app}`;
  }
}

describe('builds of different apps run in parallel, bounded by PILOT_BUILD_CONCURRENCY (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;
  let gate: BuildGate;
  const finished = new Map<string, GitResult>();

  before(async () => {
    pilot = await startTestPilot({ PILOT_BUILD_CONCURRENCY: '2' });
    gate = new BuildGate(`pilot-gate-${pilot.server.config.instance}`);
  });
  after(async () => {
    await pilot?.close();
  });

  /** Fails at once, with its output, when a push ended while the test waits for its build to arrive. */
  function noPushEnded(): void {
    for (const [app, result] of finished) assert.fail(`the push of ${app} ended (exit ${result.code}) before its build reached the gate:\n${result.stderr}`);
  }

  async function waitForArrivals(what: string, expected: string[]): Promise<void> {
    await waitFor(what, async () => {
      noPushEnded();
      const arrived = await gate.arrived();
      return expected.every((app) => arrived.includes(app)) ? true : undefined;
    }, 120_000, 100);
  }

  async function gatedPush(app: string): Promise<GitResult> {
    const client = new GitClient(tempDir(app));
    await client.init();
    await client.commit({
      'index.html': `built ${app}`,
      Dockerfile: [
        `FROM ${pilot.server.config.staticImage}`,
        'COPY index.html /srv/index.html',
        gate.runStep(app),
        'EXPOSE 8080',
        'CMD ["caddy", "file-server", "--root", "/srv", "--listen", ":8080"]',
        '',
      ].join('\n'),
    });
    const result = await client.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
    finished.set(app, result);
    return result;
  }

  function released(app: string): void {
    finished.delete(app);
  }

  it('runs two builds at once and makes the third wait for a slot, saying so', async () => {
    const pushes = { one: gatedPush('one'), two: gatedPush('two') };
    await waitForArrivals('two builds inside their RUN step at once', ['one', 'two']);
    const third = gatedPush('three');
    // The third push gets as far as its build, then holds there: both slots are taken.
    const thirdLog = () => (pilot.server.db.prepare("SELECT r.log FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.name = 'three'").get() as { log: string } | undefined)?.log ?? '';
    await waitFor('the third push waiting for a build slot', async () => {
      noPushEnded();
      return thirdLog().includes('Waiting for a build slot') ? true : undefined;
    }, 60_000, 100);
    assert.deepEqual((await gate.arrived()).sort(), ['one', 'two'], 'the third build has not started while two run');

    await gate.release('one');
    const one = await pushes.one;
    assert.equal(one.code, 0, one.stderr);
    released('one');
    await waitForArrivals('the third build in its RUN step once a slot is free', ['three']);
    await gate.release('two');
    await gate.release('three');
    const [two, three] = await Promise.all([pushes.two, third]);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(three.code, 0, three.stderr);
    assert.match(three.stderr, /Waiting for a build slot: 2 build\(s\) of other apps running/);
    for (const app of ['one', 'two', 'three']) {
      const answer = await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
      assert.equal(answer.body, `built ${app}`);
    }
  });
});
