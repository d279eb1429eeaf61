import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_APP_PORT, DEFAULT_NODE_MAJOR, detectBuildpack, isReadFile } from '../../../src/pipeline/detect.js';
import { facts, failure } from '../../helpers/detection.js';

const SETTINGS = { nodeImage: 'node:{{major}}-bookworm-slim', staticImage: 'caddy:2-alpine' };

describe('detectBuildpack', () => {
  it('prefers a root Dockerfile over package.json and reads the port from the image later', () => {
    const plan = detectBuildpack(facts({ Dockerfile: 'FROM x', 'package.json': '{}' }), SETTINGS);
    assert.equal(plan.buildpack, 'dockerfile');
    assert.equal(plan.dockerfileContext, undefined);
    assert.equal(plan.port, undefined);
  });

  it('builds a Node app with npm ci when a lockfile exists, on the major engines.node allows', () => {
    const plan = detectBuildpack(
      facts({ 'package.json': '{"engines": {"node": ">=20 <21"}, "scripts": {"start": "node s.js", "build": "tsc"}}', 'package-lock.json': '' }),
      SETTINGS,
    );
    assert.equal(plan.buildpack, 'node');
    assert.equal(plan.description, 'Node.js app (node 20, npm ci)');
    assert.deepEqual(plan.dockerfileContext, {
      baseImage: 'node:20-bookworm-slim',
      setupCommand: undefined,
      installWorkdir: '/app',
      installCopies: [{ sources: ['app/package.json', 'app/package-lock.json'], dest: '/app/' }],
      treeCopied: false,
      prebuildCommand: undefined,
      installCommand: 'npm ci',
      appWorkdir: '/app',
      buildCommand: 'npm run build',
      pruneCommand: 'npm prune --omit=dev',
      nodeCheck: plan.dockerfileContext?.nodeCheck,
      binPath: '/app/node_modules/.bin',
      standaloneAppPath: '',
      startCommand: ['npm', 'start'],
      port: DEFAULT_APP_PORT,
    });
    assert.deepEqual(plan.notes, []);
  });

  it('falls back to .nvmrc, then to the default LTS major', () => {
    const pkg = '{"main": "index.js"}';
    const pinned = detectBuildpack(facts({ 'package.json': pkg, '.nvmrc': 'v22.3.0\n' }), SETTINGS);
    assert.equal(pinned.description, 'Node.js app (node 22, npm install)');
    const unpinned = detectBuildpack(facts({ 'package.json': pkg }), SETTINGS);
    assert.equal(unpinned.description, `Node.js app (node ${DEFAULT_NODE_MAJOR}, npm install)`);
    // No build script: dev dependencies are left out at install, nothing to prune.
    assert.equal(unpinned.dockerfileContext?.installCommand, 'npm install --omit=dev');
    assert.equal(unpinned.dockerfileContext?.pruneCommand, undefined);
    assert.deepEqual(unpinned.dockerfileContext?.startCommand, ['node', 'index.js']);
  });

  it('uses pnpm or yarn when their lockfile is there', () => {
    const pnpm = detectBuildpack(facts({ 'package.json': '{"main": "a.js"}', 'pnpm-lock.yaml': '' }), SETTINGS);
    assert.match(String(pnpm.dockerfileContext?.installCommand), /pnpm install --frozen-lockfile/);
    const yarn = detectBuildpack(facts({ 'package.json': '{"main": "a.js"}', 'yarn.lock': '' }), SETTINGS);
    assert.match(String(yarn.dockerfileContext?.installCommand), /yarn install --frozen-lockfile/);
  });

  it('starts the Procfile web process over npm start', () => {
    const plan = detectBuildpack(
      facts({ 'package.json': '{"scripts": {"start": "node a.js"}}', Procfile: 'web: node server.js --port $PORT\nworker: node w.js\n' }),
      SETTINGS,
    );
    assert.deepEqual(plan.dockerfileContext?.startCommand, ['/bin/sh', '-c', 'exec node server.js --port $PORT']);
  });

  it('serves index.html from the root or public/ as a static site', () => {
    const root = detectBuildpack(facts({ 'index.html': '<h1>hi</h1>' }), SETTINGS);
    assert.equal(root.buildpack, 'static');
    assert.equal(root.dockerfileContext?.siteDir, '');
    const publicDir = detectBuildpack(facts({ 'public/index.html': '' }), SETTINGS);
    assert.equal(publicDir.dockerfileContext?.siteDir, 'public/');
    assert.equal(publicDir.dockerfileContext?.baseImage, 'caddy:2-alpine');
  });

  it('turns on the single-page fallback of a static site that has a 200.html, as surge.sh does', () => {
    const root = detectBuildpack(facts({ 'index.html': '', '200.html': '' }), SETTINGS);
    assert.equal(root.dockerfileContext?.spaFallback, '/200.html');
    assert.equal(root.description, 'static site (the repository root, unknown pages answer /200.html)');
    assert.equal(detectBuildpack(facts({ 'public/index.html': '', 'public/200.html': '' }), SETTINGS).dockerfileContext?.spaFallback, '/200.html');
    assert.equal(detectBuildpack(facts({ 'public/index.html': '', '200.html': '' }), SETTINGS).dockerfileContext?.spaFallback, undefined);
  });

  it('reads the framework config files and 200.html, and serves a framework\'s build as a static site', () => {
    for (const file of ['next.config.mjs', 'vite.config.ts', 'astro.config.mjs', 'angular.json', 'svelte.config.js', 'nuxt.config.ts', 'react-router.config.ts']) {
      assert.ok(isReadFile(file) && isReadFile(`apps/web/${file}`), file);
    }
    const plan = detectBuildpack(facts({ 'package.json': '{"dependencies": {"react-scripts": "5"}, "scripts": {"build": "react-scripts build"}}' }), SETTINGS);
    assert.equal(plan.buildpack, 'node');
    assert.deepEqual(plan.alsoUses, ['static']);
    assert.deepEqual(plan.dockerfileContext?.staticSite, { baseImage: 'caddy:2-alpine', framework: 'Create React App', outputDir: 'build', spaFallback: '/index.html' });
    assert.equal(plan.dockerfileContext?.startCommand, undefined);
    assert.equal(plan.dockerfileContext?.pruneCommand, undefined);
  });

  it('explains what it looked for when nothing matches', () => {
    const error = failure(() => detectBuildpack(facts({ 'README.md': '' }), SETTINGS));
    assert.equal(error.code, 'PILOT_NO_BUILDPACK');
    assert.match(error.message, /looked for a Dockerfile/);
  });

  it('refuses broken package.json, impossible engines and apps with no start command', () => {
    assert.match(failure(() => detectBuildpack(facts({ 'package.json': '{ nope' }), SETTINGS)).message, /package\.json is not valid JSON/);
    assert.match(failure(() => detectBuildpack(facts({ 'package.json': '[]' }), SETTINGS)).message, /package\.json is not valid JSON/);
    assert.match(
      failure(() => detectBuildpack(facts({ 'package.json': '{"engines": {"node": "banana"}, "main": "a.js"}' }), SETTINGS)).message,
      /engines\.node "banana" is not a version range/,
    );
    assert.match(
      failure(() => detectBuildpack(facts({ 'package.json': '{"engines": {"node": "8.x"}, "main": "a.js"}' }), SETTINGS)).message,
      /engines\.node "8\.x" asks for a Node\.js line Pilot does not build with \(it builds with 26, 24, 22, 20, 18, 16\): allow one of them .* or deploy with a Dockerfile/,
    );
    assert.match(failure(() => detectBuildpack(facts({ 'package.json': '{}' }), SETTINGS)).message, /add a "start" script/);
  });
});

describe('app.json cron entries in the plan', () => {
  it('puts the entries of app.json on the plan, of every buildpack', () => {
    const appJson = JSON.stringify({ cron: [{ command: 'node scripts/report.js', schedule: '*/5 * * * *' }] });
    for (const files of [{ Dockerfile: 'FROM x' }, { 'package.json': '{"scripts": {"start": "node s.js"}}' }, { 'index.html': '' }] as Record<string, string>[]) {
      const plan = detectBuildpack(facts({ ...files, 'app.json': appJson }), SETTINGS);
      assert.deepEqual(plan.cron.map((entry) => [entry.schedule, entry.command]), [['*/5 * * * *', 'node scripts/report.js']], plan.buildpack);
    }
    assert.deepEqual(detectBuildpack(facts({ Dockerfile: 'FROM x' }), SETTINGS).cron, []);
  });

  it('refuses an invalid schedule before anything is built; seconds only with the test-only setting', () => {
    const seconds = facts({ Dockerfile: 'FROM x', 'app.json': '{"cron": [{"command": "true", "schedule": "*/2 * * * * *"}]}' });
    assert.match(failure(() => detectBuildpack(seconds, SETTINGS)).message, /app\.json cron\[0\]\.schedule "\*\/2 \* \* \* \* \*" has six fields/);
    assert.equal(detectBuildpack(seconds, { ...SETTINGS, cronAllowSeconds: true }).cron.length, 1);
  });
});

describe('detectBuildpack with app.json', () => {
  it('puts the health checks, formation, scripts and cron of app.json on the plan, for every buildpack', () => {
    const appJson = `{
      // comments are allowed, as are trailing commas
      "healthchecks": {"web": [{"path": "/ready", "attempts": 2}]},
      "formation": {"worker": {"quantity": 2}},
      "scripts": {"dokku": {"predeploy": "node migrate.js"}},
      "cron": [{"command": "node task.js", "schedule": "*/5 * * * *"}],
    }`;
    const plan = detectBuildpack(facts({ Dockerfile: 'FROM x', Procfile: 'web: node web.js\nworker: node worker.js\n', 'app.json': appJson }), SETTINGS);
    assert.deepEqual(plan.healthChecks, [{ path: '/ready', attempts: 2 }]);
    assert.deepEqual(plan.formation, { worker: 2 });
    assert.deepEqual(plan.scripts, { predeploy: 'node migrate.js', postdeploy: null, firstDeploy: null });
    assert.deepEqual(plan.cron.map((entry) => [entry.command, entry.schedule]), [['node task.js', '*/5 * * * *']]);
    const site = detectBuildpack(facts({ 'index.html': '<p>hi</p>', 'app.json': '{"healthchecks": {"web": [{"path": "/index.html"}]}}' }), SETTINGS);
    assert.deepEqual(site.healthChecks, [{ path: '/index.html' }]);
  });

  it('refuses a formation for a process type the app does not have', () => {
    const error = failure(() => detectBuildpack(facts({ Dockerfile: 'FROM x', 'app.json': '{"formation": {"worker": {"quantity": 1}}}' }), SETTINGS));
    assert.equal(error.message, 'app.json formation.worker: there is no process type "worker" (the types: web; a Procfile declares them)');
  });
});
