import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type {} from '@fastify/websocket';
import { PROJECT_ROOT } from '../../src/adapters/templates.js';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, spawnPilot, type CliResult } from '../helpers/cli.js';

const skip = integrationSkipReason();

/** An app that answers with $GREETING and its version, and logs every request. */
function appFiles(version: string): Record<string, string> {
  return {
    // The build writes to stderr, which the classic builder wraps in terminal escapes.
    'package.json': JSON.stringify({ name: 'greeter', version, scripts: { start: 'node server.js', build: "node -e \"console.error('built on stderr')\"" } }),
    'server.js':
      "const { version } = require('./package.json');\n" +
      "require('http').createServer((request, response) => {\n" +
      "  console.log('request ' + request.url);\n" +
      "  response.end((process.env.GREETING || 'hello') + ' from ' + version);\n" +
      '}).listen(process.env.PORT);\n',
  };
}

describe('the pilot CLI against a real server (real Docker, Caddy and git)', { skip }, () => {
  let pilot: TestPilot;
  let home: string;
  let client: GitClient;

  before(async () => {
    // What `npm run build` makes and GET /cli serves.
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'build-cli.mjs')]);
    pilot = await startTestPilot();
    client = new GitClient(tempDir('greeter'));
    // One HOME for pilot and git, as a user has: git's credential helper is pilot with its login.
    home = client.home;
    await client.init();
    await client.commit(appFiles('1.0.0'));
  });
  after(async () => {
    await pilot?.close();
  });

  /** `pilot ARGS` in the app's repository, with its own HOME (its own saved login). */
  function start(args: string[], env: Record<string, string> = {}) {
    return spawnPilot(args, client.workDir, { HOME: home, ...env });
  }

  function pilotCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
    return runPilot(args, client.workDir, { HOME: home, ...env }, input);
  }

  async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
    const result = await pilotCli(args, env);
    assert.equal(result.code, 0, `pilot ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  async function body(app: string, urlPath = '/'): Promise<string> {
    return (await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, path: urlPath, ca: pilot.caFile })).body;
  }

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  }

  it('logs in (mode 0600), adds the pilot remote without the token in its URL, and pushes through it', async () => {
    const login = await ok(['login', pilot.server.address, '--token', pilot.token]);
    assert.match(login, /Logged in to http:\/\/127\.0\.0\.1:\d+ with an admin token/);
    const saved = path.join(home, '.config', 'pilot', 'credentials.json');
    assert.equal(fs.statSync(saved).mode & 0o777, 0o600);

    assert.match(await ok(['git:remote', '-a', 'greeter']), /^Added remote pilot -> /m);
    const url = await client.ok(['remote', 'get-url', 'pilot']);
    assert.equal(url, `${pilot.server.address}/greeter.git`);
    assert.ok(!fs.readFileSync(path.join(client.workDir, '.git', 'config'), 'utf8').includes(pilot.token), 'no token in .git/config');
    const pushed = await client.run(['push', 'pilot', 'HEAD:refs/heads/main']);
    assertPushed(pushed);
    assert.match(pushed.stderr, /built on stderr/);
    // Colours come through as the build made them (docs/dashboard.md), each line reset at its end,
    // and no other escape: nothing that moves the pusher's cursor.
    // eslint-disable-next-line no-control-regex -- escapes are what is looked for
    assert.match(pushed.stderr, /\u001b\[91mbuilt on stderr\u001b\[0m/, "the step's stderr in the builder's red, reset at the end of its line");
    // eslint-disable-next-line no-control-regex -- escapes are what is looked for
    const escapes = pushed.stderr.match(/\u001b(\[[0-9;?]*[ -/]*[@-~]|.)/g) ?? [];
    const notColours = escapes.filter((escape) => !(escape.startsWith('\u001b[') && /^\[[\d;]*m$/.test(escape.slice(1))));
    assert.deepEqual(notColours, [], 'only colour escapes in the push output');
    assert.equal(await body('greeter'), 'hello from 1.0.0');

    assert.match(await ok(['whoami']), /^http:\/\/127\.0\.0\.1:\d+: an admin token$/m);
    const info = JSON.parse(await ok(['apps:info', '--json'])) as { name: string; url: string; release: { version: number }; state: string };
    assert.equal(info.name, 'greeter', 'the app comes from the pilot remote');
    assert.equal(info.release.version, 1);
    assert.equal(info.state, 'running');
    assert.equal((JSON.parse(await ok(['apps:info', 'greeter', '--json'])) as { name: string }).name, 'greeter', 'the app as an argument');
    assert.equal((await ok(['open'])).trim(), info.url, 'open prints the URL (and opens nothing without a terminal)');
    const certs = JSON.parse(await ok(['certs', '--json'])) as { host: string; state: string; issuer: string }[];
    assert.deepEqual(certs.map((certificate) => [certificate.host, certificate.state]), [[`greeter.${pilot.domain}`, 'valid']]);
    assert.match(certs[0]?.issuer ?? '', /Caddy Local Authority/, 'the test Pilot uses internal TLS');
  });

  it('installs from the server with curl | sh as one file that runs without the server\'s modules', async () => {
    const bin = tempDir('cli-bin');
    const elsewhere = tempDir('cli-elsewhere');
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH ?? '', HOME: home, PILOT_INSTALL_DIR: bin };
    const installed = await run('sh', ['-c', `curl -fsSL ${pilot.server.address}/cli/install.sh | sh`], { env, cwd: elsewhere });
    assert.match(installed.stdout, new RegExp(`Installed pilot \\d+\\.\\d+\\.\\d+ as ${bin}/pilot`));
    assert.match(installed.stdout, new RegExp(`pilot login ${pilot.server.address}`));
    // Run from a directory with no node_modules above it: only Node.js and the one file.
    const apps = await run(path.join(bin, 'pilot'), ['apps', '--json'], { env, cwd: elsewhere });
    assert.deepEqual((JSON.parse(apps.stdout) as { name: string }[]).map((app) => app.name), ['greeter']);
    const version = await run(path.join(bin, 'pilot'), ['--version'], { env, cwd: elsewhere });
    assert.equal(version.stdout.trim(), (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('config:set makes a release the app answers with, and config:get reads it back', async () => {
    const set = await ok(['config:set', 'GREETING=hi', '-a', 'greeter']);
    assert.match(set, /Set GREETING and released v2/);
    assert.equal(await body('greeter'), 'hi from 1.0.0');
    assert.equal((await ok(['config:get', 'GREETING'])).trim(), 'hi');
    const releases = JSON.parse(await ok(['releases', '--json'])) as { version: number; kind: string; status: string; description: string }[];
    assert.deepEqual(releases.map((release) => [release.version, release.kind, release.status]), [
      [2, 'config', 'live'],
      [1, 'deploy', 'retired'],
    ]);
    const sha = (await client.ok(['rev-parse', '--short=7', 'HEAD'])).trim();
    assert.deepEqual(releases.map((release) => release.description), ['Set GREETING', `Deploy ${sha}`]);
    assert.match(await ok(['releases']), /v2\s+Set GREETING\s+live/);
    const bad = await pilotCli(['config:set', 'PORT=1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^pilot: PORT is set by Pilot/);
  });

  it('rollback serves the previous release again, with its config', async () => {
    await client.commit(appFiles('2.0.0'));
    assertPushed(await client.run(['push', 'pilot', 'HEAD:refs/heads/main']));
    assert.equal(await body('greeter'), 'hi from 2.0.0');
    const rolled = await ok(['rollback']);
    assert.match(rolled, /^Rollback to v2 done: v4 serves its image and config$/m);
    assert.equal(await body('greeter'), 'hi from 1.0.0');
    const info = await ok(['releases:info', 'v4']);
    assert.match(info, /=== v4 \(rollback, live\)/);
    assert.match(info, /Rolling back to v2 as v4/);
    assert.match(info, /^Change: +Rollback to v2$/m);
  });

  it('logs -f prints a line the app writes after the command started', async () => {
    const follower = start(['logs', '-f', '-n', '1']);
    let output = '';
    follower.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // The tail line shows that the stream is open; then the app writes a new line.
      await waitFor('the log stream to open', async () => (output.length > 0 ? true : undefined), 20_000);
      const marker = `/marker-${Date.now()}`;
      await body('greeter', marker);
      await waitFor(`"${marker}" in the followed log`, async () => (output.includes(`request ${marker}`) ? true : undefined), 20_000);

      // The socket drops (as at a Caddy reload): the follower reconnects and resumes.
      for (const socket of pilot.server.app.websocketServer.clients) socket.terminate();
      const afterDrop = `/after-drop-${Date.now()}`;
      await body('greeter', afterDrop);
      await waitFor(`"${afterDrop}" after the reconnection`, async () => (output.includes(`request ${afterDrop}`) ? true : undefined), 20_000);
      for (const line of [marker, afterDrop]) {
        assert.equal(output.split('\n').filter((printed) => printed.endsWith(`request ${line}`)).length, 1, `${line} is printed exactly once`);
      }
    } finally {
      follower.kill('SIGINT');
    }
    const recent = await ok(['logs', '-n', '5']);
    assert.match(recent, /request \/marker-/);
  });

  it("run passes the command's options through without --, and its piped stdin until it ends", async () => {
    assert.match(await ok(['run', 'node', '-v']), /^v\d+\.\d+\.\d+\n$/);
    const piped = await pilotCli(['run', 'tr', 'a-z', 'A-Z'], {}, 'hello from stdin\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'HELLO FROM STDIN\n');
    assert.equal((await pilotCli(['run', 'sh', '-c', 'exit 3'])).code, 3, "the command's exit code");
  });

  it('ps shows the running release and restart brings it back', async () => {
    const processes = JSON.parse(await ok(['ps', '--json'])) as { type: string; release: number; state: string }[];
    assert.deepEqual(processes.map((process) => [process.type, process.release, process.state]), [['web', 4, 'running']]);
    await ok(['restart']);
    assert.equal(await waitFor('the app after a restart', async () => (await body('greeter').catch(() => undefined)) || undefined), 'hi from 1.0.0');
    const restartedWeb = JSON.parse(await ok(['ps:restart', 'web', '--json'])) as { type: string; state: string }[];
    assert.deepEqual(restartedWeb.map((process) => [process.type, process.state]), [['web', 'running']]);
    assert.equal(await waitFor('the app after ps:restart web', async () => (await body('greeter').catch(() => undefined)) || undefined), 'hi from 1.0.0');
    const unknownType = await pilotCli(['ps:restart', 'nosuch']);
    assert.equal(unknownType.code, 1);
    assert.match(unknownType.stderr, /has no process type "nosuch"/);
    const stopped = JSON.parse(await ok(['stop', '--json'])) as { state: string }[];
    assert.deepEqual(stopped.map((process) => process.state), ['exited']);
    const answer = await body('greeter').catch((error: Error) => `no answer: ${error.message}`);
    assert.doesNotMatch(answer, /from \d/, 'a stopped app does not answer');
    const started = JSON.parse(await ok(['start', '--json'])) as { state: string }[];
    assert.deepEqual(started.map((process) => process.state), ['running']);
    assert.equal(await waitFor('the app after a start', async () => (await body('greeter').catch(() => undefined)) || undefined), 'hi from 1.0.0');
  });

  it('domains:add serves the app at a custom domain at once, domains:remove stops it', async () => {
    assert.match(await ok(['domains:add', 'www.greeter.test']), /Added www\.greeter\.test/);
    const custom = () => httpsGet({ host: 'www.greeter.test', port: pilot.httpsPort, ca: pilot.caFile });
    assert.equal((await waitFor('the custom domain', async () => (await custom().catch(() => undefined))?.body || undefined)), 'hi from 1.0.0');
    assert.deepEqual(JSON.parse(await ok(['domains', '--json'])), { domains: ['www.greeter.test'] });
    await ok(['domains:remove', 'www.greeter.test']);
    const gone = await custom().then((answer) => answer.body, (error: Error) => `no answer: ${error.message}`);
    assert.doesNotMatch(gone, /from \d/);
    const invalid = await pilotCli(['domains:add', 'not_a_domain']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /invalid domain "not_a_domain"/);
  });

  it('a deploy token pushes its own app and is refused on another app, over git and the API', async () => {
    await ok(['apps:create', 'other']);
    const created = JSON.parse(await ok(['tokens:create', 'ci', '--app', 'greeter', '--json'])) as { token: string; scope: string };
    assert.equal(created.scope, 'app');
    const deployEnv = { PILOT_URL: pilot.server.address, PILOT_TOKEN: created.token };

    await client.commit(appFiles('3.0.0'));
    assertPushed(await client.run(['push', remoteUrl(pilot.server.address, 'greeter', created.token), 'HEAD:refs/heads/main']));
    assert.equal(await body('greeter'), 'hi from 3.0.0');
    const refusedPush = await client.run(['push', remoteUrl(pilot.server.address, 'other', created.token), 'HEAD:refs/heads/main']);
    assert.notEqual(refusedPush.code, 0);
    assert.match(refusedPush.stderr, /may not access the app "other"/);
    const refusedCreate = await client.run(['push', remoteUrl(pilot.server.address, 'brand-new', created.token), 'HEAD:refs/heads/main']);
    assert.notEqual(refusedCreate.code, 0, 'a deploy token cannot create apps by pushing');

    assert.equal((JSON.parse(await ok(['apps:info', '-a', 'greeter', '--json'], deployEnv)) as { name: string }).name, 'greeter');
    assert.match(await ok(['whoami'], deployEnv), /: a deploy token for greeter$/m);
    const refusedApi = await pilotCli(['apps:info', '-a', 'other'], deployEnv);
    assert.equal(refusedApi.code, 1);
    assert.match(refusedApi.stderr, /may not access the app "other"/);
    const refusedAdmin = await pilotCli(['config:set', 'A=1', '-a', 'greeter'], deployEnv);
    assert.match(refusedAdmin.stderr, /needs an admin token/);
  });

  it('logs merge the web and worker processes with their names, filter by --ps, and -f resumes across a drop and a scale with no line lost or repeated', async () => {
    const ticker = new GitClient(tempDir('ticker'));
    await ticker.init();
    await ticker.commit({
      'package.json': JSON.stringify({ name: 'ticker', version: '1.0.0' }),
      Procfile: 'web: node server.js\nworker: node worker.js\n',
      'server.js': "require('http').createServer((request, response) => { console.log('request ' + request.url); response.end('ok'); }).listen(process.env.PORT);\n",
      // Each worker counts on its own: a gap or a repeat in a worker's count is a lost or repeated line.
      'worker.js': "let n = 0; setInterval(() => console.log('tick ' + (n += 1)), 200);\n",
    });
    assertPushed(await ticker.run(['push', remoteUrl(pilot.server.address, 'ticker', pilot.token), 'HEAD:refs/heads/main']));
    const admin = { PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token };
    // Workers run once scaled, as on Heroku.
    await ok(['ps:scale', 'worker=1', '-a', 'ticker'], admin);
    await httpsGet({ host: `ticker.${pilot.domain}`, port: pilot.httpsPort, path: '/hello', ca: pilot.caFile });

    let printed = '';
    const recent = await waitFor('web and worker lines', async () => {
      printed = await ok(['logs', '-a', 'ticker', '-n', '200'], admin);
      return /web\.1 \| request \/hello/.test(printed) && /worker\.1 \| tick \d+/.test(printed) ? printed : undefined;
    }, 20_000).catch((error: Error) => assert.fail(`${error.message}; pilot logs printed:\n${printed}`));
    const times = recent.trim().split('\n').map((line) => line.split(' ')[0] ?? '');
    assert.deepEqual([...times].sort(), times, 'merged in time order');
    const workerOnly = await ok(['logs', '-a', 'ticker', '--ps', 'worker', '-n', '20'], admin);
    assert.ok(workerOnly.trim().split('\n').every((line) => / worker\.1 \| tick \d+$/.test(line)), workerOnly);

    const follower = start(['logs', '-f', '-a', 'ticker', '--ps', 'worker', '-n', '1'], admin);
    let output = '';
    follower.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ticks = (name: string): number[] =>
      [...output.matchAll(new RegExp(`${name.replace('.', '\\.')} \\| tick (\\d+)$`, 'gm'))].map((match) => Number(match[1]));
    try {
      await waitFor('ten ticks followed', async () => (ticks('worker.1').length >= 10 ? true : undefined), 20_000);
      for (const socket of pilot.server.app.websocketServer.clients) socket.terminate();
      const before = ticks('worker.1').length;
      await waitFor('ticks after the drop', async () => (ticks('worker.1').length >= before + 10 ? true : undefined), 20_000);
      assert.match(await ok(['ps:scale', 'worker=2', '-a', 'ticker'], admin), /worker/);
      await waitFor('the second worker joins the followed log', async () => (ticks('worker.2').length >= 5 ? true : undefined), 30_000);
    } finally {
      follower.kill('SIGINT');
    }
    for (const name of ['worker.1', 'worker.2']) {
      const counted = ticks(name);
      const first = counted[0] ?? 0;
      assert.deepEqual(counted, counted.map((_tick, index) => first + index), `${name}: every tick once, in order`);
    }
    assert.doesNotMatch(output, /web\.1 \|/, '--ps worker shows no web line');
    assert.match(await ok(['apps:destroy', '-a', 'ticker', '--confirm', 'ticker'], admin), /Destroyed ticker/);
  });

  it('apps:destroy leaves no container, image, route or repository behind', async () => {
    const unconfirmed = await pilotCli(['apps:destroy', '-a', 'greeter'], {}, '');
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /^pilot: not destroyed: confirm with --confirm greeter/);
    const refused = await pilotCli(['apps:destroy', '-a', 'greeter', '--confirm', 'nope']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not destroyed/);
    assert.match(await ok(['apps:destroy', '-a', 'greeter', '--confirm', 'greeter']), /Destroyed greeter/);

    const labels = { 'pilot.instance': pilot.server.config.instance, 'pilot.app': 'greeter' };
    assert.deepEqual(await pilot.server.engine.listContainers(labels), []);
    assert.deepEqual(await pilot.server.engine.listImages(`${pilot.server.config.instance}/greeter`), []);
    assert.equal(fs.existsSync(path.join(pilot.server.paths.repositories, 'greeter.git')), false);
    const caddyfile = fs.readFileSync(pilot.server.paths.caddyfile, 'utf8');
    assert.doesNotMatch(caddyfile, /greeter\./);
    const answer = await body('greeter').catch((error: Error) => `no answer: ${error.message}`);
    assert.doesNotMatch(answer, /from \d/, 'Caddy no longer serves it');
    const apps = JSON.parse(await ok(['apps', '--json'])) as { name: string }[];
    assert.deepEqual(apps.map((app) => app.name), ['other']);
  });
});
