import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { GitClient, integrationSkipReason, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();

/** Build vars set with `pilot config:set --build` reach real builds (real Docker, Caddy, git and CLI). */
describe('build-time config: build vars reach builds, masked in their logs', { skip }, () => {
  let pilot: TestPilot;
  let home: string;

  before(async () => {
    pilot = await startTestPilot();
    home = tempDir('build-config-home');
    await ok(['login', pilot.server.address, '--token', pilot.token]);
  });
  after(async () => {
    await pilot?.close();
  });

  async function ok(args: string[]): Promise<string> {
    const result = await runPilot(args, home, { HOME: home });
    assert.equal(result.code, 0, `pilot ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  const push = (client: GitClient, app: string): Promise<GitResult> => pilot.push(client, app);

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
  }

  const body = async (app: string, urlPath = '/'): Promise<string> => (await pilot.get(app, urlPath)).body;

  /** A release as a deploy token reads it: the API answer with its build and deploy log. */
  async function releaseAsDeployToken(app: string, version: number): Promise<{ buildKeys: string[]; log: string }> {
    const created = JSON.parse(await ok(['tokens:create', `ci-${app}`, '--app', app, '--json'])) as { token: string };
    const response = await fetch(`${pilot.server.address}/api/v1/apps/${app}/releases/v${version}`, { headers: { authorization: `Bearer ${created.token}` } });
    assert.equal(response.status, 200);
    return (await response.json()) as { buildKeys: string[]; log: string };
  }

  it('passes a build var to the ARG a Dockerfile declares, never shows its value in the log, and says what the image keeps', async () => {
    const secret = `greeting-${randomBytes(6).toString('hex')}`;
    await ok(['apps:create', 'greet']);
    const set = await ok(['config:set', '--build', `GREETING=${secret}`, 'UNUSED_BY_BUILD=zzzz', '-a', 'greet']);
    assert.match(set, /Set GREETING, UNUSED_BY_BUILD \(used from the next deploy\)/);
    assert.match(set, /Builds see the change to GREETING, UNUSED_BY_BUILD from the next push/);
    assert.match(await ok(['config', '-a', 'greet']), new RegExp(`^GREETING=${secret}  # build$`, 'm'));
    assert.deepEqual((JSON.parse(await ok(['config', '-a', 'greet', '--json'])) as { buildKeys: string[] }).buildKeys, ['GREETING', 'UNUSED_BY_BUILD']);

    const client = new GitClient(tempDir('greet'));
    await client.init();
    await client.commit({
      Dockerfile: [
        `FROM ${pilot.server.config.staticImage}`,
        'ARG GREETING',
        // The build prints the value: the log must show it masked.
        'RUN echo "$GREETING" > /srv/index.html && echo "wrote: $GREETING"',
        'EXPOSE 8080',
        'CMD ["caddy", "file-server", "--root", "/srv", "--listen", ":8080"]',
        '',
      ].join('\n'),
    });
    const pushed = await push(client, 'greet');
    assertPushed(pushed);
    assert.match(pushed.stderr, /-----> Build vars: GREETING/);
    assert.match(pushed.stderr, /declares no ARG for them: UNUSED_BY_BUILD/);
    assert.match(pushed.stderr, /wrote: \*\*\*\*/);
    assert.equal(pushed.stderr.includes(secret), false, 'the pusher never sees the value');
    assert.equal((await body('greet')).trim(), secret);

    const release = await releaseAsDeployToken('greet', 1);
    assert.deepEqual(release.buildKeys, ['GREETING', 'UNUSED_BY_BUILD'], 'the build vars of the app when it was built');
    assert.match(release.log, /wrote: \*\*\*\*/);
    assert.equal(release.log.includes(secret), false, 'a deploy token never reads the value');

    // What the README says Docker keeps: the RUN step's history records the value it ran with.
    const history = execFileSync('docker', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', `${pilot.server.config.instance}/greet:v1`]).toString();
    assert.match(history, new RegExp(`GREETING=${secret}`));
  });

  it("gives a Node.js app's build script its build vars; a new value reaches the runtime now and the build at the next push", async () => {
    const first = `public-${randomBytes(4).toString('hex')}`;
    await ok(['apps:create', 'pub']);
    await ok(['config:set', '--build', `PUBLIC_VALUE=${first}`, '-a', 'pub']);
    const client = new GitClient(tempDir('pub'));
    await client.init();
    await client.commit({
      'package.json': JSON.stringify({ name: 'pub', version: '1.0.0', scripts: { build: 'node build.js', start: 'node server.js' } }),
      'build.js': "require('fs').mkdirSync('dist', { recursive: true });\nrequire('fs').writeFileSync('dist/value.txt', String(process.env.PUBLIC_VALUE));\n",
      'server.js':
        "const fs = require('fs');\n" +
        "require('http').createServer((request, response) => {\n" +
        "  response.end(request.url === '/runtime' ? String(process.env.PUBLIC_VALUE) : fs.readFileSync('dist/value.txt', 'utf8'));\n" +
        '}).listen(process.env.PORT);\n',
    });
    assertPushed(await push(client, 'pub'));
    assert.equal(await body('pub'), first, 'the build script saw the build var');
    assert.equal(await body('pub', '/runtime'), first, 'a build var is a runtime var too');

    const second = `public-${randomBytes(4).toString('hex')}`;
    const changed = await ok(['config:set', `PUBLIC_VALUE=${second}`, '-a', 'pub']);
    assert.match(changed, /Set PUBLIC_VALUE and released v2/);
    assert.match(changed, /Builds see the change to PUBLIC_VALUE from the next push: the running image keeps what it was built with/);
    assert.equal(await body('pub', '/runtime'), second);
    assert.equal(await body('pub'), first, 'the running image was built with the first value');
    assert.match(await ok(['config', '-a', 'pub']), new RegExp(`^PUBLIC_VALUE=${second}  # build$`, 'm'), 'setting a value keeps the var a build var');

    await client.commit({ 'README.md': 'rebuild' });
    assertPushed(await push(client, 'pub'));
    assert.equal(await body('pub'), second, 'the next build saw the new value');

    const releaseCount = async () => (JSON.parse(await ok(['releases', '-a', 'pub', '--json'])) as unknown[]).length;
    const before = await releaseCount();
    const runtimeOnly = await ok(['config:set', '--no-build', 'PUBLIC_VALUE', '-a', 'pub']);
    assert.match(runtimeOnly, /Made PUBLIC_VALUE runtime only \(its value is unchanged\)/);
    assert.match(runtimeOnly, /Builds see the change to PUBLIC_VALUE from the next push/);
    assert.equal(await releaseCount(), before, 'only the flag changed: no new release');
    await client.commit({ 'README.md': 'rebuild without build vars' });
    assertPushed(await push(client, 'pub'));
    assert.equal(await body('pub'), 'undefined', 'a runtime-only var is not seen by the build');
    assert.equal(await body('pub', '/runtime'), second);
  });
});
