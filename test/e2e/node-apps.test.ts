import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { GitClient, integrationSkipReason, localImages, settledRegistryDate, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot } from '../helpers/cli.js';

const skip = integrationSkipReason();
const run = promisify(execFile);
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
/** Every app here asks for the Node.js of the local image. */
const NODE_MAJOR = 20;

/**
 * Writes a lockfile as a developer would: the package manager (through corepack, in the local
 * node image that CI builds) runs on the app's files, and the result is committed.
 */
async function lock(client: GitClient, command: readonly string[]): Promise<void> {
  const { uid, gid } = os.userInfo();
  await run('docker', [
    'run', '--rm', '--user', `${uid}:${gid}`, '-e', 'HOME=/tmp', '-e', 'COREPACK_HOME=/tmp/corepack', '-e', 'COREPACK_ENABLE_DOWNLOAD_PROMPT=0',
    '-v', `${client.workDir}:/work`, '-w', '/work', localImages().nodeImage.replaceAll('{{major}}', String(NODE_MAJOR)), ...command,
  ], { timeout: 180_000 });
}

describe('Node.js apps as they are: workspaces, package managers, Heroku scripts, .npmrc', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  const push = (client: GitClient, app: string): Promise<GitResult> => pilot.push(client, app);
  const get = (app: string) => pilot.get(app);

  function api(method: 'POST' | 'PATCH', url: string, payload?: unknown) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  }

  function assertPushed(result: GitResult): void {
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
    const image = localImages().nodeImage.replaceAll('{{major}}', String(NODE_MAJOR));
    assert.match(result.stderr, new RegExp(`remote:\\s+Node\\.js v${NODE_MAJOR}\\.\\d+\\.\\d+ in ${image.replaceAll('.', '\\.')}`), 'the push names the image and its Node.js');
  }

  /** A server that shows what the build left behind, and whether dev dependencies were pruned. */
  const server = (lines: string) => `const fs = require('fs');
const pruned = (() => { try { require.resolve('is-number'); return false; } catch { return true; } })();
require('http').createServer((req, res) => res.end([${lines}, 'dev pruned: ' + pruned].join(' | '))).listen(process.env.PORT);
`;

  it('deploys a pnpm workspace app from its build-dir, with a workspace package, and caches the install', async () => {
    const client = new GitClient(tempDir('pnpm-mono'));
    await client.init();
    await client.commit({
      'package.json': json({ name: 'mono', private: true, packageManager: 'pnpm@9.15.9' }),
      'pnpm-workspace.yaml': 'packages:\n  - apps/*\n  - packages/*\n',
      'packages/greet/package.json': json({ name: '@demo/greet', version: '1.0.0', main: 'index.js', dependencies: { ms: '2.1.3' } }),
      'packages/greet/index.js': "const ms = require('ms');\nmodule.exports = () => 'greet ' + ms(60000);\n",
      'apps/web/package.json': json({
        name: 'web', version: '1.0.0', engines: { node: `${NODE_MAJOR}.x` },
        scripts: { build: 'node build.js', start: 'node server.js' },
        dependencies: { '@demo/greet': 'workspace:*' }, devDependencies: { 'is-number': '7.0.0' },
      }),
      'apps/web/build.js': "require('fs').writeFileSync('built.txt', 'built with is-number ' + require('is-number')(5));\n",
      'apps/web/server.js': server("require('@demo/greet')(), fs.readFileSync('built.txt', 'utf8'), fs.readFileSync('message.txt', 'utf8')"),
      'apps/web/message.txt': 'v1',
      'apps/other/package.json': json({ name: 'other', main: 'index.js' }),
    });
    await lock(client, ['corepack', 'pnpm', 'install', '--lockfile-only']);
    await client.commit({});

    assert.equal((await api('POST', '/apps', { name: 'mono' })).statusCode, 201);
    const refused = await api('PATCH', '/apps/mono', { buildDir: '../etc' });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.body, /must stay inside the repository/);
    const cliEnv = { HOME: tempDir('cli-home'), PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token };
    const set = await runPilot(['apps:set', 'build-dir', 'apps/web/', '-a', 'mono'], client.workDir, cliEnv);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout.trim(), 'mono builds from apps/web/ from the next push');
    assert.match((await runPilot(['apps:info', '-a', 'mono'], client.workDir, cliEnv)).stdout, /Build dir: apps\/web\n/);

    const first = await push(client, 'mono');
    assertPushed(first);
    assert.match(first.stderr, /remote: -----> Detected Node\.js app \(node 20, pnpm install --frozen-lockfile\) in apps\/web\//);
    assert.equal((await get('mono')).body, 'greet 1m | built with is-number true | v1 | dev pruned: true');

    await client.commit({ 'apps/web/message.txt': 'v2' }, 'v2');
    const second = await push(client, 'mono');
    assertPushed(second);
    assert.match(second.stderr, /RUN pnpm install --frozen-lockfile\s*\nremote:\s+---> Using cache/, 'the dependency layer came from the cache');
    assert.equal((await get('mono')).body, 'greet 1m | built with is-number true | v2 | dev pruned: true');
  });

  it('deploys a Yarn 4 app: the packageManager version through corepack, an immutable install, dev dependencies focused away', async () => {
    const client = new GitClient(tempDir('yarn4'));
    await client.init();
    await client.commit({
      'package.json': json({
        name: 'yarn4', private: true, packageManager: 'yarn@4.9.4', engines: { node: `${NODE_MAJOR}.x` },
        scripts: { build: 'node build.js', start: 'node server.js' }, dependencies: { ms: '2.1.3' }, devDependencies: { 'is-number': '7.0.0' },
      }),
      '.yarnrc.yml': 'nodeLinker: node-modules\nnpmRegistryServer: "https://registry.npmjs.org"\n',
      '.gitignore': '.yarn/\nnode_modules/\n',
      'build.js': "require('fs').writeFileSync('built.txt', 'yarn ' + process.env.npm_config_user_agent.split(' ')[0]);\n",
      'server.js': server("fs.readFileSync('built.txt', 'utf8'), require('ms')(120000)"),
    });
    await lock(client, ['corepack', 'yarn', 'install', '--mode=update-lockfile']);
    await client.commit({});

    const result = await push(client, 'yarn4');
    assertPushed(result);
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node 20, yarn install --immutable\)/);
    assert.equal((await get('yarn4')).body, 'yarn yarn/4.9.4 | 2m | dev pruned: true');
  });

  it('runs heroku-prebuild before the install and heroku-postbuild instead of build', async () => {
    const client = new GitClient(tempDir('heroku'));
    await client.init();
    await client.commit({
      'package.json': json({
        name: 'heroku-app', engines: { node: `${NODE_MAJOR}.x` },
        scripts: {
          'heroku-prebuild': "node -e \"require('fs').writeFileSync('prebuild.txt', 'prebuild saw node_modules: ' + require('fs').existsSync('node_modules'))\"",
          build: "node -e \"console.error('build must not run when heroku-postbuild is there'); process.exit(1)\"",
          'heroku-postbuild': 'node postbuild.js',
          start: 'node server.js',
        },
        dependencies: { ms: '2.1.3' },
      }),
      'postbuild.js': "require('fs').writeFileSync('postbuild.txt', 'postbuild ran with ms ' + require('ms')(1000));\n",
      'server.js': server("fs.readFileSync('prebuild.txt', 'utf8'), fs.readFileSync('postbuild.txt', 'utf8')"),
    });
    const result = await push(client, 'heroku');
    assertPushed(result);
    assert.match(result.stderr, /remote:\s+heroku-prebuild needs the whole tree before the install/);
    assert.equal((await get('heroku')).body, 'prebuild saw node_modules: false | postbuild ran with ms 1s | dev pruned: true');
  });

  it('installs with the .npmrc of the app (legacy-peer-deps=true)', async () => {
    const client = new GitClient(tempDir('npmrc'));
    await client.init();
    await client.commit({
      // use-sync-external-store 1.2.0 wants react up to 18: npm refuses react 19 without legacy-peer-deps.
      'package.json': json({ name: 'peers', private: true, engines: { node: `${NODE_MAJOR}.x` }, scripts: { start: 'node server.js' }, dependencies: { react: '19.0.0', 'use-sync-external-store': '1.2.0' } }),
      '.npmrc': 'legacy-peer-deps=true\n',
      'server.js': server("'react ' + require('react').version, typeof require('use-sync-external-store/shim').useSyncExternalStore"),
    });
    await lock(client, ['npm', 'install', '--package-lock-only', `--before=${settledRegistryDate()}`, '--no-audit', '--no-fund']);
    await client.commit({});
    const result = await push(client, 'npmrc');
    assertPushed(result);
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node 20, npm ci\)/);
    assert.equal((await get('npmrc')).body, 'react 19.0.0 | function | dev pruned: true');
  });
});
