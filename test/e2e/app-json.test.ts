import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';

const skip = integrationSkipReason();

/**
 * A web process that says its version on `/` and answers 404 elsewhere, a worker that keeps
 * running, and a `console:` task that exits at once (it must never start by itself).
 */
function appFiles(version: string, appJson?: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'app-json-app', version }),
    Procfile: 'web: node web.js\nworker: node worker.js\nconsole: node -e "process.exit(0)"\n',
    'web.js':
      "require('http').createServer((request, response) => {\n" +
      "  if (request.url !== '/') response.statusCode = 404;\n" +
      `  response.end(request.url === '/' ? 'web ${version}' : 'not here');\n` +
      '}).listen(process.env.PORT);\n',
    'worker.js': "setInterval(() => console.log('working'), 500);\n",
    // An empty app.json is the same as none; it keeps the file tracked between versions.
    'app.json': appJson ?? '',
  };
}

describe('app.json: formation, health check settings, deploy scripts (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot();
    client = new GitClient(tempDir('app-json'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
  });

  const push = (): Promise<GitResult> => pilot.push(client, 'aj');

  function assertRejected(result: GitResult, message: RegExp): void {
    assert.notEqual(result.code, 0, `push should have been rejected:\n${result.stderr}`);
    assert.match(result.stderr, /pre-receive hook declined/);
    assert.match(result.stderr, message);
  }

  const body = async (): Promise<string> => (await pilot.get('aj')).body;

  function pilotCli(args: string[]): Promise<CliResult> {
    return runPilot(args, client.workDir, { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  }

  async function processes(): Promise<string[]> {
    const answer = await pilot.server.app.inject({ method: 'GET', url: '/api/v1/apps/aj/ps', headers: { authorization: `Bearer ${pilot.token}` } });
    const list = answer.json() as { type: string; index: number | null; state: string }[];
    return list.map((process) => `${process.index === null ? process.type : `${process.type}.${process.index}`} ${process.state}`);
  }

  it('starts only web by default: a task type that exits at once does not fail the push', async () => {
    await client.commit(appFiles('1'));
    const result = await push();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Not started: console, worker at 0 \(`pilot ps:scale console=1 -a aj` or app\.json formation runs them\)/);
    assert.equal(await body(), 'web 1');
    assert.deepEqual(await processes(), ['web.1 running', 'console scaled to 0', 'worker scaled to 0']);
    const ps = await pilotCli(['ps', '-a', 'aj']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^worker\s+v1\s+scaled to 0/m);
  });

  it('runs the worker that app.json formation (with comments) scales, and ps:scale leaves it to app.json', async () => {
    await client.commit(appFiles('2', '{\n  // run one worker\n  "formation": {"worker": {"quantity": 1},},\n}\n'));
    const result = await push();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /worker\.1 running after \d+ s/);
    assert.equal(await body(), 'web 2');
    assert.deepEqual(await processes(), ['web.1 running', 'worker.1 running', 'console scaled to 0']);
    const refused = await pilotCli(['ps:scale', 'worker=2', '-a', 'aj']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /worker is scaled by app\.json formation \(worker\.quantity: 1\) in v2: change app\.json and push to scale it/);
  });

  it('rejects a release whose health check fails its attempts, saying what it got, and keeps v2 serving', async () => {
    await client.commit(appFiles('3', '{"healthchecks": {"web": [{"path": "/ready", "attempts": 2, "wait": 1}]}}'));
    const result = await push();
    assertRejected(result, /health check failed: GET \/ready answered 404 after 2 attempts in [\d.]+ s; expected 2xx\/3xx/);
    assert.match(result.stderr, /v2 is still serving/);
    assert.equal(await body(), 'web 2');
  });

  it('rejects a release whose predeploy script fails, and keeps v2 serving', async () => {
    await client.commit(appFiles('4', '{"scripts": {"dokku": {"predeploy": "node -e \\"console.log(\'checking\'); process.exit(1)\\""}}}'));
    const result = await push();
    assertRejected(result, /app\.json predeploy script failed with exit code 1/);
    assert.match(result.stderr, /remote:\s+checking/);
    assert.doesNotMatch(result.stderr, /Releasing v/);
    assert.match(result.stderr, /v2 is still serving/);
    assert.equal(await body(), 'web 2');
  });

  it('keeps a release live when its postdeploy script fails, and says so', async () => {
    await client.commit(appFiles('5', '{"scripts": {"dokku": {"predeploy": "true", "postdeploy": "node -e \\"process.exit(2)\\""}}}'));
    const result = await push();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Running app\.json predeploy script: true/);
    assert.match(result.stderr, /app\.json postdeploy script failed with exit code 2: .*; v5 stays live \(this script runs after the switch\)/);
    assert.equal(await body(), 'web 5');
  });
});
