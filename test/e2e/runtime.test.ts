import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GitClient, httpsGet, integrationSkipReason, remoteUrl, tempDir, waitFor, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';

const skip = integrationSkipReason();
const execFileAsync = promisify(execFile);
const CLI_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');

/**
 * web serves what the worker and the release command wrote to the volume at /data;
 * release.js fails when the version says so. app.json formation runs the worker (only web
 * starts by default).
 */
function appFiles(version: string, options: { failRelease?: boolean } = {}): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'runtime-app', version, scripts: { start: 'node web.js' } }),
    Procfile: 'web: node web.js\nworker: node worker.js\nrelease: node release.js\n',
    'app.json': JSON.stringify({ formation: { worker: { quantity: 1 } } }),
    'web.js':
      "const fs = require('fs');\nconst { version } = require('./package.json');\n" +
      "const read = (file) => { try { return fs.readFileSync('/data/' + file, 'utf8'); } catch { return 'missing'; } };\n" +
      "require('http').createServer((request, response) => {\n" +
      "  if (request.url === '/') return response.end('web ' + version);\n" +
      '  response.end(read(request.url.slice(1)));\n' +
      '}).listen(process.env.PORT);\n',
    'worker.js': "const fs = require('fs');\nlet beats = 0;\nsetInterval(() => fs.writeFileSync('/data/worker.txt', 'worker beat ' + ++beats), 200);\n",
    'release.js': options.failRelease
      ? "console.log('running migration 2');\nconsole.error('migration failed: column exists');\nprocess.exit(3);\n"
      : `require('fs').writeFileSync('/data/release.txt', 'release of ${version}');\nconsole.log('migrated to ${version}');\n`,
  };
}

describe('app runtime: Procfile processes, release phase, scaling, run, storage (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;
  let client: GitClient;

  before(async () => {
    pilot = await startTestPilot();
    client = new GitClient(tempDir('runtime'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
  });

  function api(method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(body ? { payload: body } : {}) });
  }

  function push(repo: GitClient, app: string): Promise<GitResult> {
    return repo.run(['push', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
  }

  async function body(app: string, urlPath = '/'): Promise<string> {
    return (await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, path: urlPath, ca: pilot.caFile })).body;
  }

  function pilotCli(args: string[]): Promise<CliResult> {
    return runPilot(args, client.workDir, { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  }

  /** Requests `/` through Caddy without pause until stopped; counts answers that are not 200. */
  function steadyLoad(app: string) {
    let stop = false;
    const counts = { ok: 0, failed: [] as string[] };
    const done = (async () => {
      while (!stop) {
        try {
          const answer = await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
          if (answer.status === 200) counts.ok += 1;
          else counts.failed.push(`status ${answer.status}`);
        } catch (error) {
          counts.failed.push(String(error));
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

  async function processes(app: string): Promise<string[]> {
    const list = (await api('GET', `/apps/${app}/ps`)).json() as { type: string; index: number | null; state: string }[];
    return list.map((process) => `${process.index === null ? process.type : `${process.type}.${process.index}`} ${process.state}`);
  }

  it('runs web and the worker app.json scales from the Procfile, the release command first, all sharing the volume', async () => {
    assert.equal((await api('POST', '/apps', { name: 'rt' })).statusCode, 201);
    const mounted = await api('POST', '/apps/rt/storage', { path: '/data/' });
    assert.equal(mounted.statusCode, 201, mounted.body);
    assert.equal(mounted.json().volume.path, '/data');

    await client.commit(appFiles('1'));
    const result = await push(client, 'rt');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /-----> Running release command: node release\.js\s*\nremote:\s+migrated to 1/);
    assert.match(result.stderr, /worker\.1 running after \d+ s/);
    assert.equal(await body('rt'), 'web 1');
    assert.equal(await body('rt', '/release.txt'), 'release of 1', 'the release command ran before web, on the same volume');
    // Read once per probe: a second read may fall between the worker's truncate and write.
    const beat = await waitFor('the worker writing to the volume', async () => {
      const text = await body('rt', '/worker.txt');
      return text.startsWith('worker beat') ? text : undefined;
    });
    assert.match(beat, /worker beat \d+/);
    assert.deepEqual(await processes('rt'), ['web.1 running', 'worker.1 running']);
  });

  it('a failing release command rejects the push, shows its output and keeps the old release serving', async () => {
    await client.commit(appFiles('2', { failRelease: true }));
    const result = await push(client, 'rt');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /migration failed: column exists/);
    assert.match(result.stderr, /release command failed with exit code 3: node release\.js/);
    assert.match(result.stderr, /v1 is still serving/);
    assert.equal(await body('rt'), 'web 1');
    assert.equal(await body('rt', '/release.txt'), 'release of 1');
  });

  it('ps:scale web=3 and back to 1 with no failed request, and the scale is kept', async () => {
    const load = steadyLoad('rt');
    const up = await pilotCli(['ps:scale', 'web=3', '-a', 'rt']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /web\.3\s+v1\s+running/);
    const upstreams = await pilot.server.caddyAdmin.upstreams();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const down = await pilotCli(['ps:scale', 'web=1', '-a', 'rt']);
    assert.equal(down.code, 0, down.stderr);
    await load.stop();

    assert.ok(load.counts.ok > 10, `the load loop made only ${load.counts.ok} requests`);
    assert.deepEqual(load.counts.failed, [], `failed requests while scaling: ${load.counts.failed.slice(0, 5).join('; ')}`);
    assert.equal(upstreams.filter((upstream) => upstream.endsWith(':5000')).length, 3, `three web upstreams in Caddy: ${upstreams.join(', ')}`);
    assert.deepEqual(await processes('rt'), ['web.1 running', 'worker.1 running']);
    const refused = await pilotCli(['ps:scale', 'clock=1', '-a', 'rt']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /v1 has no process type "clock" \(its types: web, worker\)/);
  });

  it('restart rolls every process blue/green under a request loop with no failed request', async () => {
    const before = await pilot.server.caddyAdmin.upstreams();
    const load = steadyLoad('rt');
    const restarted = await pilotCli(['restart', '-a', 'rt']);
    await load.stop();
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.ok(load.counts.ok > 10, `the load loop made only ${load.counts.ok} requests`);
    assert.deepEqual(load.counts.failed, [], `failed requests while restarting: ${load.counts.failed.slice(0, 5).join('; ')}`);
    const after = await pilot.server.caddyAdmin.upstreams();
    const web = (upstreams: string[]) => upstreams.filter((upstream) => upstream.endsWith(':5000'));
    assert.equal(web(after).length, 1);
    assert.notDeepEqual(web(after), web(before), 'traffic moved to the new web process');
    assert.deepEqual(await processes('rt'), ['web.1 running', 'worker.1 running']);
    assert.equal(await body('rt', '/release.txt'), 'release of 1', 'the volume is mounted in the new processes');
  });

  it('maintenance:on serves a 503 page with Retry-After while the app runs on; web=0 serves a 503 page, not a refused connection', async () => {
    const get = () => httpsGet({ host: `rt.${pilot.domain}`, port: pilot.httpsPort, ca: pilot.caFile });
    const on = await pilotCli(['maintenance:on', '-a', 'rt']);
    assert.equal(on.code, 0, on.stderr);
    const page = await get();
    assert.equal(page.status, 503);
    assert.equal(page.headers['retry-after'], '60');
    assert.match(page.body, /rt is down for maintenance/);
    assert.deepEqual(await processes('rt'), ['web.1 running', 'worker.1 running'], 'the app keeps running');
    assert.equal((await pilotCli(['maintenance:off', '-a', 'rt'])).code, 0);
    assert.equal(await body('rt'), 'web 1');

    assert.equal((await pilotCli(['ps:scale', 'web=0', '-a', 'rt'])).code, 0);
    const stopped = await waitFor('the not-running page', async () => {
      const answer = await get();
      return answer.status === 503 ? answer : undefined;
    });
    assert.match(stopped.body, /rt is not running/);
    assert.equal(stopped.headers['retry-after'], undefined);
    assert.equal((await pilotCli(['ps:scale', 'web=1', '-a', 'rt'])).code, 0);
    assert.equal(await body('rt'), 'web 1');
  });

  it('run returns the output and exit code of a command in a new container, then removes it', async () => {
    const result = await pilotCli(['run', '-a', 'rt', '--', 'node', '-e', "console.log(require('fs').readFileSync('/data/release.txt', 'utf8') + ' / ' + process.env.PORT); process.exit(7)"]);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout.trim(), 'release of 1 / 5000');
    const leftovers = await pilot.server.engine.listContainers({ 'pilot.instance': pilot.server.config.instance, 'pilot.process': 'run' });
    assert.deepEqual(leftovers, []);

    // On a terminal (script(1) gives the CLI one), the keyboard reaches the command.
    const command = [process.execPath, '--import', import.meta.resolve('tsx'), CLI_MAIN, 'run', '-a', 'rt', '--', 'sh', '-c', "'read line; echo got:$line; exit 4'"].join(' ');
    const tty = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: client.workDir,
        env: { PATH: process.env.PATH ?? '', HOME: tempDir('tty-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token, TERM: 'dumb' },
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, output }));
      setTimeout(() => child.stdin.write('hello\r'), 3000);
    });
    assert.match(tty.output, /got:hello/);
    assert.equal(tty.code, 4);
  });

  it('a file on the volume survives a redeploy and a rollback', async () => {
    const write = await pilotCli(['run', '-a', 'rt', '--', 'sh', '-c', 'echo kept across releases > /data/keep.txt']);
    assert.equal(write.code, 0, write.stderr);
    await client.commit(appFiles('3'));
    const pushed = await push(client, 'rt');
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(await body('rt'), 'web 3');
    assert.equal((await body('rt', '/keep.txt')).trim(), 'kept across releases');
    assert.deepEqual(await processes('rt'), ['web.1 running', 'worker.1 running'], 'the scale of 1 web is kept');

    const rollback = await api('POST', '/apps/rt/rollback', { version: 1 });
    assert.equal(rollback.statusCode, 200, rollback.body);
    assert.equal(await body('rt'), 'web 1');
    assert.equal((await body('rt', '/keep.txt')).trim(), 'kept across releases');
  });

  it('limits:set applies memory and CPU limits to every container at once, through a new release', async () => {
    const set = await pilotCli(['limits:set', 'memory=200m', 'cpus=0.5', '-a', 'rt']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Memory: 200m\nCPUs: {3}0\.5\nReleased v\d+/);
    const containers = await pilot.server.engine.listContainers({ 'pilot.instance': pilot.server.config.instance, 'pilot.app': 'rt' });
    const live = (await api('GET', '/apps/rt')).json().release.version as number;
    const current = containers.filter((container) => container.labels['pilot.release'] === String(live));
    assert.equal(current.length, 2, 'web and worker of the new release');
    for (const container of current) {
      const { stdout } = await execFileAsync('docker', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', container.id]);
      assert.equal(stdout.trim(), `${200 * 1024 * 1024} 500000000`);
    }
    assert.equal(await body('rt'), 'web 1');
    const invalid = await pilotCli(['limits:set', 'memory=lots', '-a', 'rt']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /memory "lots" must be a size from 32m/);
    const reset = await pilotCli(['limits:set', 'memory=default', '-a', 'rt']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /Memory: 256m \(default\)\nCPUs: {3}0\.5\n/);
  });

  it('deploys a worker-only app without a route: nothing runs until the worker is scaled', async () => {
    const jobs = new GitClient(tempDir('jobs'));
    await jobs.init();
    await jobs.commit({
      'package.json': JSON.stringify({ name: 'jobs', version: '1.0.0' }),
      Procfile: 'worker: node worker.js\n',
      'worker.js': "setInterval(() => console.log('job done'), 500);\n",
    });
    const result = await push(jobs, 'jobs');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /No process runs: worker is at 0; scale it with `pilot ps:scale worker=1 -a jobs` or app\.json formation/);
    assert.match(result.stderr, /v1 is live \(no web process: no route\)/);
    assert.match(result.stderr, /=====> jobs is live \(worker processes only: no URL\)/);
    assert.doesNotMatch(result.stderr, /=====> https?:/, 'a worker-only push prints no URL');
    assert.doesNotMatch(result.stderr, /Health check passed/);
    assert.deepEqual(await processes('jobs'), ['worker scaled to 0']);
    const scaled = await pilotCli(['ps:scale', 'worker=1', '-a', 'jobs']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.deepEqual(await processes('jobs'), ['worker.1 running']);
    assert.doesNotMatch(fs.readFileSync(pilot.server.paths.caddyfile, 'utf8'), /jobs\.localhost/);
  });

  it('apps:destroy keeps the volumes unless asked to remove them', async () => {
    const kept = await pilotCli(['apps:destroy', '-a', 'rt', '--confirm', 'rt']);
    assert.equal(kept.code, 0, kept.stderr);
    const labels = { 'pilot.instance': pilot.server.config.instance, 'pilot.app': 'rt' };
    assert.equal((await pilot.server.engine.listVolumes(labels)).length, 1);
    assert.deepEqual(await pilot.server.engine.listContainers(labels), []);

    const invalid = await api('POST', '/apps/jobs/storage', { path: '/data/../etc' });
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.json().message, /invalid mount path/);
    assert.equal((await api('POST', '/apps/jobs/storage', { path: '/' })).statusCode, 400);
    assert.equal((await api('POST', '/apps/jobs/storage', { path: 'relative' })).statusCode, 400);
    const jobsMounted = await api('POST', '/apps/jobs/storage', { path: '/cache' });
    assert.equal(jobsMounted.statusCode, 201, jobsMounted.body);
    assert.equal(jobsMounted.json().release.kind, 'config', 'a running app gets a release with the mount');
    const removed = await pilotCli(['apps:destroy', '-a', 'jobs', '--confirm', 'jobs', '--volumes']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /1 volumes/);
    assert.deepEqual(await pilot.server.engine.listVolumes({ 'pilot.instance': pilot.server.config.instance, 'pilot.app': 'jobs' }), []);
  });
});
