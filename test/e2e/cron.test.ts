import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { PilotProcess } from '../helpers/pilot-process.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();
const APP = 'ticker';

interface RunView {
  entry: string;
  command: string;
  release: number;
  scheduledAt: string;
  status: string;
  exitCode: number | null;
  output: string;
}

interface EntryView {
  id: string;
  schedule: string;
  command: string;
  nextRunAt: string | null;
  lastRun: Omit<RunView, 'output'> | null;
}

/** A web server and two scheduled scripts, no npm packages: one prints and succeeds, one fails with code 3. */
function appFiles(version: string, cron: unknown[] | undefined): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: APP, version, scripts: { start: 'node server.js' } }),
    'server.js': `require('http').createServer((request, response) => response.end('web ${version}')).listen(process.env.PORT);\n`,
    'report.js': "console.log('report of ' + require('./package.json').version + ' on port ' + process.env.PORT);\n",
    'fail.js': "console.error('no data to report');\nprocess.exit(3);\n",
    'app.json': JSON.stringify(cron === undefined ? {} : { cron }),
  };
}

/**
 * app.json cron entries run on their schedule as one-off containers of the live release. The test
 * Pilot allows a seconds field (PILOT_CRON_ALLOW_SECONDS) so that runs come within seconds;
 * users write five fields, whose shortest interval is a minute.
 */
describe('app.json cron entries (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot({ PILOT_CRON_ALLOW_SECONDS: 'true' });
    client = new GitClient(tempDir('cron-app'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
  });

  const push = (): Promise<GitResult> => pilot.push(client, APP);

  async function api<T>(url: string): Promise<T> {
    const response = await fetch(`${pilot.server.address}/api/v1/apps/${APP}${url}`, { headers: { authorization: `Bearer ${pilot.token}` } });
    assert.equal(response.status, 200, `GET ${url}: ${await response.clone().text()}`);
    return (await response.json()) as T;
  }

  function cli(args: string[]) {
    return runPilot(args, client.workDir, { HOME: tempDir('cron-cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  }

  const web = async (): Promise<string> => (await pilot.get(APP)).body;

  it("runs each entry in the live release's image and config, keeping its output and exit code; pilot cron lists them", async () => {
    await client.commit(appFiles('1.0.0', [
      { command: 'node report.js', schedule: '*/3 * * * * *' },
      { command: 'node fail.js', schedule: '*/4 * * * * *' },
    ]));
    const pushed = await push();
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /remote: -----> app\.json cron: 2 entries \(UTC\), scheduled once this release is live/);
    assert.match(pushed.stderr, /remote: +\*\/3 \* \* \* \* \* {2}node report\.js/);

    const succeeded = await waitFor('a succeeded run of node report.js', async () => {
      const { runs } = await api<{ runs: RunView[] }>('/cron/runs?limit=50');
      return runs.find((run) => run.command === 'node report.js' && run.status === 'succeeded');
    }, 90_000, 500);
    assert.equal(succeeded.exitCode, 0);
    assert.equal(succeeded.output, 'report of 1.0.0 on port 5000\n');
    assert.equal(succeeded.release, 1);
    const failed = await waitFor('a failed run of node fail.js', async () => {
      const { runs } = await api<{ runs: RunView[] }>('/cron/runs?limit=50');
      return runs.find((run) => run.command === 'node fail.js' && run.status === 'failed');
    }, 90_000, 500);
    assert.deepEqual([failed.exitCode, failed.output], [3, 'no data to report\n']);

    const { entries } = await api<{ entries: EntryView[] }>('/cron');
    assert.deepEqual(entries.map((entry) => [entry.schedule, entry.command]), [['*/3 * * * * *', 'node report.js'], ['*/4 * * * * *', 'node fail.js']]);
    for (const entry of entries) assert.ok(entry.nextRunAt && Date.parse(entry.nextRunAt) > Date.parse(succeeded.scheduledAt), `next run of ${entry.command}`);
    const { runs: reportRuns } = await api<{ runs: RunView[] }>(`/cron/runs?entry=${succeeded.entry}`);
    assert.ok(reportRuns.length > 0 && reportRuns.every((run) => run.command === 'node report.js'));

    const listed = await cli(['cron', '-a', APP]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /ID\s+SCHEDULE\s+COMMAND\s+NEXT\s+LAST\s+RESULT/);
    assert.match(listed.stdout, new RegExp(`${succeeded.entry}\\s+\\*/3 \\* \\* \\* \\* \\*\\s+node report\\.js\\s+\\d{4}-`));
    const shown = await cli(['cron:runs', succeeded.entry, '-a', APP, '-n', '50']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /=== [0-9a-f]{8} at \S+ \(v1\): succeeded \(exit 0\)\n\$ node report\.js\nreport of 1\.0\.0 on port 5000/);
  });

  it('refuses an invalid schedule before the build, and the live release keeps serving and running its entries', async () => {
    await client.commit(appFiles('2.0.0', [{ command: 'node report.js', schedule: 'every 5 minutes' }]));
    const pushed = await push();
    assert.notEqual(pushed.code, 0);
    assert.match(pushed.stderr, /app\.json cron\[0\]\.schedule "every 5 minutes" has 3 field\(s\): write five fields/);
    assert.match(pushed.stderr, /v1 is still serving/);
    assert.equal(await web(), 'web 1.0.0');
    const { entries } = await api<{ entries: EntryView[] }>('/cron');
    assert.equal(entries.length, 2);
  });

  it('a deploy without the entries stops them; the new release runs its own', async () => {
    await client.commit(appFiles('3.0.0', [{ command: 'node report.js', schedule: '*/2 * * * * *' }]));
    const pushed = await push();
    assert.equal(pushed.code, 0, pushed.stderr);
    const { entries } = await api<{ entries: EntryView[] }>('/cron');
    assert.deepEqual(entries.map((entry) => entry.schedule), ['*/2 * * * * *']);
    const fromV3 = await waitFor('a run of v3', async () => {
      const { runs } = await api<{ runs: RunView[] }>(`/cron/runs?entry=${entries[0]!.id}`);
      return runs.find((run) => run.release === 3 && run.status === 'succeeded');
    }, 90_000, 500);
    assert.equal(fromV3.output, 'report of 3.0.0 on port 5000\n');

    await client.commit(appFiles('4.0.0', undefined));
    assert.equal((await push()).code, 0);
    assert.deepEqual((await api<{ entries: EntryView[] }>('/cron')).entries, []);
    const listed = await cli(['cron', '-a', APP]);
    assert.equal(listed.stdout.trim(), '(none)');
  });
});

describe('app.json cron entries across a restart of Pilot (real Docker, Caddy and git)', { skip }, () => {
  let pilot: PilotProcess;

  before(async () => {
    pilot = await PilotProcess.start({ PILOT_CRON_ALLOW_SECONDS: 'true' });
  });
  after(async () => {
    await pilot?.close();
  });

  async function succeededRuns(): Promise<RunView[]> {
    const response = await fetch(`${pilot.address}/api/v1/apps/${APP}/cron/runs?limit=100`, { headers: { authorization: `Bearer ${pilot.token}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as { runs: RunView[] }).runs.filter((run) => run.status === 'succeeded');
  }

  it('a Pilot killed and started again picks the schedule up from the live release', async () => {
    const client = new GitClient(tempDir('cron-restart-app'));
    await client.init();
    await client.commit(appFiles('1.0.0', [{ command: 'node report.js', schedule: '*/2 * * * * *' }]));
    const pushed = await client.run(['push', remoteUrl(pilot.address, APP, pilot.token), 'HEAD:refs/heads/main']);
    assert.equal(pushed.code, 0, pushed.stderr);
    await waitFor('a run before the restart', async () => (await succeededRuns())[0], 90_000, 500);

    await pilot.crash();
    const restartedAt = Date.now();
    await pilot.launch();
    const afterRestart = await waitFor('a run scheduled after the restart', async () => {
      return (await succeededRuns()).find((run) => Date.parse(run.scheduledAt) > restartedAt);
    }, 90_000, 500);
    assert.equal(afterRestart.output, 'report of 1.0.0 on port 5000\n');
    const leftRunning = pilot.query<{ n: number }>("SELECT COUNT(*) AS n FROM cron_runs WHERE status = 'running' AND scheduled_at < ?", new Date(restartedAt).toISOString());
    assert.equal(leftRunning[0]?.n, 0, 'a run the crash cut short is recorded as interrupted, not left running');
  });
});
