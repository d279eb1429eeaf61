import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectBuildpack, isReadFile, type AppBuildSettings, type BuildPlan, type SourceFacts } from '../../../src/pipeline/detect.js';
import { createTemplateRenderer } from '../../../src/adapters/templates.js';
import { failure } from '../../helpers/detection.js';

const SETTINGS = { nodeImage: 'node:{{major}}-bookworm-slim', staticImage: 'caddy:2-alpine' };
const templates = createTemplateRenderer();

function facts(files: Record<string, string>): SourceFacts {
  return { files: new Set(Object.keys(files)), contents: new Map(Object.entries(files).filter(([file]) => isReadFile(file))) };
}

function plan(files: Record<string, string>, app: Partial<AppBuildSettings> = {}): BuildPlan {
  return detectBuildpack(facts(files), SETTINGS, { appDir: '', configVars: {}, ...app });
}

function context(files: Record<string, string>, app: Partial<AppBuildSettings> = {}): Record<string, unknown> {
  return { ...plan(files, app).dockerfileContext };
}

function dockerfile(files: Record<string, string>, app: Partial<AppBuildSettings> = {}): string {
  return templates.renderDockerfile('node', { ...plan(files, app).dockerfileContext, imageTag: 'pilot/web:v7' });
}

const json = (value: unknown) => JSON.stringify(value);
const BUILT = json({ scripts: { build: 'node build.js', start: 'node server.js' } });

describe('node install step', () => {
  it('renders the whole Dockerfile of a plain npm app: install layer, source, build, prune, start, Node.js check', () => {
    const text = dockerfile({ 'package.json': json({ engines: { node: '22.x' }, scripts: { build: 'tsc', start: 'node dist/server.js' } }), 'package-lock.json': '{}', 'src/server.ts': '' });
    assert.equal(text.replace(/^#.*\n/gm, ''), [
      'FROM node:22-bookworm-slim AS build',
      'WORKDIR /app',
      '',
      'COPY app/package.json app/package-lock.json /app/',
      'RUN npm ci',
      '',
      'COPY app/ /app/',
      'WORKDIR /app',
      'RUN npm run build',
      'RUN npm prune --omit=dev',
      'RUN : pilot/web:v7 && version=$(node --version) && echo "Node.js $version in node:22-bookworm-slim" && case "$version" in v22.*) ;; ' +
        '*) echo "warning: the app asks for Node.js 22, and node:22-bookworm-slim has $version: set PILOT_NODE_IMAGE to an image name with {{major}} ' +
        '(e.g. node:{{major}}-bookworm-slim) to follow the app" ;; esac',
      '',
      'ENV NODE_ENV=production PORT=5000 PATH=$PATH:/app/node_modules/.bin',
      'EXPOSE 5000',
      'CMD ["npm","start"]',
      '',
    ].join('\n'));
  });

  it('copies the settings and patches the install reads before it runs, each to its own directory', () => {
    const text = dockerfile({
      'package.json': BUILT, 'package-lock.json': '{}', '.npmrc': 'legacy-peer-deps=true\n', 'patches/left-pad+1.3.0.patch': 'diff',
      'server.js': '', 'src/deep/file.js': '',
    });
    assert.match(text, /^COPY app\/package\.json app\/package-lock\.json app\/\.npmrc \/app\/\nCOPY app\/patches \/app\/patches\/\nRUN npm ci\n\nCOPY app\/ \/app\/\n/m);
    assert.doesNotMatch(text, /src\/deep/);
  });

  it('copies Yarn 2+ releases, plugins and patches with .yarnrc.yml', () => {
    const text = dockerfile({
      'package.json': json({ main: 'a.js', packageManager: 'yarn@4.5.0' }), 'yarn.lock': '__metadata:\n  version: 8\n', '.yarnrc.yml': 'nodeLinker: node-modules\n',
      '.yarn/releases/yarn-4.5.0.cjs': '', '.yarn/plugins/@yarnpkg/plugin-x.cjs': '', '.yarn/patches/a.patch': '', '.yarn/cache/a.zip': '',
    });
    assert.match(text, /COPY app\/package\.json app\/yarn\.lock app\/\.yarnrc\.yml \/app\/\nCOPY app\/\.yarn\/releases \/app\/\.yarn\/releases\/\nCOPY app\/\.yarn\/plugins \/app\/\.yarn\/plugins\/\nCOPY app\/\.yarn\/patches \/app\/\.yarn\/patches\/\n/);
    assert.doesNotMatch(text, /\.yarn\/cache/);
  });

  it('copies every workspace package.json that package.json workspaces selects, and none it excludes', () => {
    const copies = context({
      'package.json': json({ main: 'a.js', workspaces: ['packages/*', 'apps/**', '!packages/skip'] }), 'package-lock.json': '{}',
      'packages/a/package.json': '{}', 'packages/a/index.js': '', 'packages/skip/package.json': '{}',
      'apps/web/package.json': '{}', 'apps/tools/cli/package.json': '{}', 'docs/package.json': '{}',
    }).installCopies;
    assert.deepEqual(copies, [
      { sources: ['app/package.json', 'app/package-lock.json'], dest: '/app/' },
      { sources: ['app/apps/tools/cli/package.json'], dest: '/app/apps/tools/cli/' },
      { sources: ['app/apps/web/package.json'], dest: '/app/apps/web/' },
      { sources: ['app/packages/a/package.json'], dest: '/app/packages/a/' },
    ]);
  });

  it("reads Yarn's { packages } workspaces and pnpm-workspace.yaml packages", () => {
    const yarn = context({ 'package.json': json({ main: 'a.js', workspaces: { packages: ['libs/*'] } }), 'yarn.lock': '', 'libs/x/package.json': '{}' });
    assert.deepEqual(yarn.installCopies, [
      { sources: ['app/package.json', 'app/yarn.lock'], dest: '/app/' },
      { sources: ['app/libs/x/package.json'], dest: '/app/libs/x/' },
    ]);
    const pnpm = context({
      'package.json': json({ main: 'a.js' }), 'pnpm-lock.yaml': '', '.pnpmfile.cjs': '', 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\ncatalog:\n  x: 1\n",
      'packages/ui/package.json': '{}',
    });
    assert.deepEqual(pnpm.installCopies, [
      { sources: ['app/package.json', 'app/pnpm-lock.yaml', 'app/.pnpmfile.cjs', 'app/pnpm-workspace.yaml'], dest: '/app/' },
      { sources: ['app/packages/ui/package.json'], dest: '/app/packages/ui/' },
    ]);
  });

  it('refuses workspaces it cannot read, saying which file', () => {
    assert.match(failure(() => plan({ 'package.json': json({ main: 'a.js', workspaces: 'packages/*' }) })).message, /package\.json "workspaces" must be a list of globs/);
    assert.match(failure(() => plan({ 'package.json': json({ main: 'a.js' }), 'pnpm-workspace.yaml': 'packages: [\n' })).message, /pnpm-workspace\.yaml is not valid YAML/);
  });
});

describe('node package managers', () => {
  const main = { main: 'a.js' };
  const commands = (files: Record<string, string>, app: Partial<AppBuildSettings> = {}) => {
    const { setupCommand, installCommand, buildCommand, pruneCommand } = context(files, app);
    return { setupCommand, installCommand, buildCommand, pruneCommand };
  };

  it('npm: ci with a lockfile, install without; dev dependencies left out when nothing is built', () => {
    assert.deepEqual(commands({ 'package.json': BUILT, 'package-lock.json': '' }), { setupCommand: undefined, installCommand: 'npm ci', buildCommand: 'npm run build', pruneCommand: 'npm prune --omit=dev' });
    assert.deepEqual(commands({ 'package.json': json(main) }), { setupCommand: undefined, installCommand: 'npm install --omit=dev', buildCommand: undefined, pruneCommand: undefined });
  });

  it('pnpm through corepack, frozen lockfile, pruned by an offline install without dev dependencies', () => {
    assert.deepEqual(commands({ 'package.json': BUILT, 'pnpm-lock.yaml': '' }), {
      setupCommand: 'corepack enable', installCommand: 'pnpm install --frozen-lockfile', buildCommand: 'pnpm run build', pruneCommand: 'pnpm install --frozen-lockfile --prod --offline --config.confirm-modules-purge=false',
    });
    assert.equal(context({ 'package.json': json(main), 'pnpm-lock.yaml': '' }).installCommand, 'pnpm install --frozen-lockfile --prod');
  });

  it('Yarn 1: frozen lockfile, production prune', () => {
    assert.deepEqual(commands({ 'package.json': BUILT, 'yarn.lock': '# yarn lockfile v1\n' }), {
      setupCommand: 'corepack enable',
      installCommand: 'yarn install --frozen-lockfile',
      buildCommand: 'yarn run build',
      pruneCommand: 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline',
    });
  });

  it('Yarn 2+ from packageManager, .yarnrc.yml or a lockfile with __metadata: --immutable, focus --production from Yarn 4', () => {
    const yarn4 = { setupCommand: 'corepack enable', installCommand: 'yarn install --immutable', buildCommand: 'yarn run build', pruneCommand: 'yarn workspaces focus --all --production' };
    assert.deepEqual(commands({ 'package.json': json({ ...JSON.parse(BUILT), packageManager: 'yarn@4.5.0+sha512.abc' }), 'yarn.lock': '' }), yarn4);
    assert.deepEqual(commands({ 'package.json': BUILT, 'yarn.lock': '', '.yarnrc.yml': 'yarnPath: .yarn/releases/yarn-4.1.0.cjs\n' }), yarn4);
    // No version of its own: the latest stable Yarn, not corepack's default Yarn 1.
    assert.deepEqual(commands({ 'package.json': BUILT, 'yarn.lock': '__metadata:\n  version: 8\n' }), {
      ...yarn4, setupCommand: 'corepack enable && corepack prepare yarn@stable --activate',
    });
    assert.equal(plan({ 'package.json': json({ ...main, packageManager: 'yarn@4.5.0' }), 'yarn.lock': '' }).description, 'Node.js app (node 24, yarn install --immutable)');
  });

  it('Yarn 3 without the workspace-tools plugin keeps dev dependencies and says so; with it, prunes', () => {
    const yarn3 = { 'package.json': json({ ...JSON.parse(BUILT), packageManager: 'yarn@3.8.0' }), 'yarn.lock': '' };
    assert.equal(context(yarn3).pruneCommand, undefined);
    assert.match(plan(yarn3).notes.join('\n'), /dev dependencies are kept: Yarn 3 drops them only with the workspace-tools plugin/);
    const withPlugin = { ...yarn3, '.yarnrc.yml': 'plugins:\n  - path: .yarn/plugins/@yarnpkg/plugin-workspace-tools.cjs\n' };
    assert.equal(context(withPlugin).pruneCommand, 'yarn workspaces focus --all --production');
  });

  it('starts a Yarn Plug\'n\'Play app with yarn start, a node_modules one with npm start', () => {
    const pkg = json({ scripts: { start: 'node s.js' }, packageManager: 'yarn@4.5.0' });
    assert.deepEqual(context({ 'package.json': pkg, 'yarn.lock': '' }).startCommand, ['yarn', 'start']);
    assert.deepEqual(context({ 'package.json': pkg, 'yarn.lock': '', '.yarnrc.yml': 'nodeLinker: node-modules\n' }).startCommand, ['npm', 'start']);
  });

  it('bun with a frozen lockfile, refused with a clear message by an image without bun', () => {
    const bun = context({ 'package.json': BUILT, 'bun.lock': '' });
    assert.equal(bun.installCommand, 'bun install --frozen-lockfile');
    assert.match(String(bun.setupCommand), /^command -v bun .*\|\| \{ echo "this app uses bun .* the build image has no bun: set PILOT_NODE_IMAGE .*" >&2; exit 1; \}$/);
    assert.equal(bun.pruneCommand, undefined);
    assert.match(plan({ 'package.json': BUILT, 'bun.lock': '' }).notes.join('\n'), /dev dependencies are kept: bun has no prune/);
    const unbuilt = plan({ 'package.json': json(main), 'bun.lockb': '' });
    assert.equal(unbuilt.dockerfileContext?.installCommand, 'bun install --frozen-lockfile --production');
    assert.deepEqual(unbuilt.notes, []);
  });

  it('the packageManager field picks the tool over a stray lockfile, and must name an exact version', () => {
    assert.equal(context({ 'package.json': json({ ...main, packageManager: 'pnpm@9.12.0' }), 'package-lock.json': '' }).installCommand, 'pnpm install --prod');
    assert.match(failure(() => plan({ 'package.json': json({ ...main, packageManager: 'pnpm@latest' }) })).message, /"packageManager" must be a tool and an exact version, such as "pnpm@9\.12\.0".* got "pnpm@latest"/);
  });

  it('sets COREPACK_ENABLE_DOWNLOAD_PROMPT=0 and enables corepack before the install files arrive', () => {
    const text = dockerfile({ 'package.json': json({ ...main, packageManager: 'pnpm@9.12.0' }), 'pnpm-lock.yaml': '' });
    assert.match(text, /^FROM node:24-bookworm-slim AS build\n.*\nENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0\nRUN corepack enable\nWORKDIR \/app\n/m);
    assert.doesNotMatch(dockerfile({ 'package.json': json(main) }), /corepack/i);
  });
});

describe('Heroku build scripts and dev dependencies', () => {
  it('runs heroku-postbuild instead of build', () => {
    const built = context({ 'package.json': json({ scripts: { build: 'tsc', 'heroku-postbuild': 'node make.js', start: 'node s.js' } }), 'package-lock.json': '' });
    assert.equal(built.buildCommand, 'npm run heroku-postbuild');
    assert.equal(built.installCommand, 'npm ci');
    assert.equal(built.pruneCommand, 'npm prune --omit=dev');
  });

  it('runs heroku-prebuild before the install, with the whole tree, and says the install is not cached', () => {
    const files = { 'package.json': json({ scripts: { 'heroku-prebuild': 'node pre.js', start: 'node s.js' } }), 'package-lock.json': '' };
    const text = dockerfile(files);
    assert.match(text, /COPY app\/ \/app\/\nRUN npm run heroku-prebuild\nRUN npm ci --omit=dev\n\nWORKDIR \/app\n/);
    assert.equal(text.match(/COPY app\/ /g)?.length, 1);
    assert.match(plan(files).notes.join('\n'), /heroku-prebuild needs the whole tree/);
  });

  it('keeps dev dependencies when NPM_CONFIG_PRODUCTION or YARN_PRODUCTION is false', () => {
    for (const configVars of [{ NPM_CONFIG_PRODUCTION: 'false' }, { YARN_PRODUCTION: 'False' }] as Record<string, string>[]) {
      const built = plan({ 'package.json': BUILT, 'package-lock.json': '' }, { configVars });
      assert.equal(built.dockerfileContext?.pruneCommand, undefined);
      assert.equal(built.dockerfileContext?.installCommand, 'npm ci');
      assert.deepEqual(built.notes, ['dev dependencies are kept (NPM_CONFIG_PRODUCTION=false or YARN_PRODUCTION=false)']);
      assert.equal(plan({ 'package.json': json({ main: 'a.js' }) }, { configVars }).dockerfileContext?.installCommand, 'npm install');
    }
    assert.equal(context({ 'package.json': BUILT }, { configVars: { NPM_CONFIG_PRODUCTION: 'true' } }).pruneCommand, 'npm prune --omit=dev');
  });
});

describe('node version', () => {
  it('names the image and its Node.js on every push, warning when the major is not the one asked', () => {
    const text = dockerfile({ 'package.json': json({ main: 'a.js', engines: { node: '20.x' } }) });
    const last = text.split('\n').find((line) => line.startsWith('RUN : ')) ?? '';
    assert.match(last, /^RUN : pilot\/web:v7 && version=\$\(node --version\) && echo "Node\.js \$version in node:20-bookworm-slim" && case "\$version" in v20\.\*\) ;; \*\) echo "warning: the app asks for Node\.js 20, and node:20-bookworm-slim has \$version: set PILOT_NODE_IMAGE/);
  });

  it('says what to do when the major asked is not one Pilot builds with', () => {
    const asks: Record<string, string>[] = [{ 'package.json': json({ main: 'a.js', engines: { node: '14.x' } }) }, { 'package.json': json({ main: 'a.js' }), '.nvmrc': '14.21.3\n' }];
    for (const files of asks) {
      assert.match(failure(() => plan(files)).message, /"14(\.x|\.21\.3)" asks for a Node\.js line Pilot does not build with \(it builds with 26, 24, 22, 20, 18, 16\): allow one of them .* or deploy with a Dockerfile/);
    }
    assert.equal(plan({ 'package.json': json({ main: 'a.js', engines: { node: '>=14' } }) }).description, 'Node.js app (node 24, npm install)');
  });
});

describe('build-dir (monorepos)', () => {
  const monorepo = {
    'package.json': json({ private: true, packageManager: 'pnpm@9.12.0' }), 'pnpm-lock.yaml': '', 'pnpm-workspace.yaml': 'packages:\n  - apps/*\n  - packages/*\n',
    'apps/web/package.json': json({ scripts: { build: 'node build.js', start: 'node server.js' }, engines: { node: '22.x' } }), 'apps/web/server.js': '',
    'apps/api/package.json': json({ main: 'a.js' }), 'apps/web/Procfile': 'web: node server.js\n', 'packages/ui/package.json': '{}',
  };

  it('installs at the workspace root, builds and starts in the app directory', () => {
    const built = plan(monorepo, { appDir: 'apps/web' });
    assert.equal(built.description, 'Node.js app (node 22, pnpm install --frozen-lockfile)');
    assert.deepEqual(built.processes, { web: 'node server.js' });
    const text = templates.renderDockerfile('node', { ...built.dockerfileContext, imageTag: 't' });
    assert.match(text, new RegExp([
      'WORKDIR /app', '', '.*', '.*',
      'COPY app/package.json app/pnpm-lock.yaml app/pnpm-workspace.yaml /app/',
      'COPY app/apps/api/package.json /app/apps/api/',
      'COPY app/apps/web/package.json /app/apps/web/',
      'COPY app/packages/ui/package.json /app/packages/ui/',
      'RUN pnpm install --frozen-lockfile', '',
      'COPY app/ /app/',
      'WORKDIR /app/apps/web',
      'RUN pnpm run build',
      'RUN cd /app && pnpm install --frozen-lockfile --prod --offline --config.confirm-modules-purge=false',
    ].map((line) => line.replaceAll('/', '\\/').replaceAll('.json', '\\.json').replaceAll('.yaml', '\\.yaml')).join('\n')));
  });

  it('installs in the app directory when it has its own lockfile, or no workspace includes it', () => {
    const own = context({ ...monorepo, 'apps/web/package-lock.json': '' }, { appDir: 'apps/web' });
    assert.equal(own.installWorkdir, '/app/apps/web');
    assert.equal(own.installCommand, 'npm ci');
    const outside = context({ 'package.json': json({ main: 'a.js' }), 'package-lock.json': '', 'tools/site/package.json': json({ main: 's.js' }) }, { appDir: 'tools/site' });
    assert.equal(outside.installWorkdir, '/app/tools/site');
    assert.equal(outside.installCommand, 'npm install --omit=dev');
    assert.deepEqual(outside.installCopies, [{ sources: ['app/tools/site/package.json'], dest: '/app/tools/site/' }]);
  });

  it('builds a Dockerfile in the build-dir from that directory, and serves a static site from it', () => {
    const docker = plan({ 'services/api/Dockerfile': 'FROM x', 'package.json': '{}' }, { appDir: 'services/api' });
    assert.equal(docker.buildpack, 'dockerfile');
    assert.equal(docker.contextDir, 'services/api');
    const site = plan({ 'sites/docs/public/index.html': '' }, { appDir: 'sites/docs' });
    assert.equal(site.dockerfileContext?.siteDir, 'sites/docs/public/');
  });

  it('refuses a build-dir the push does not have', () => {
    const error = failure(() => plan(monorepo, { appDir: 'apps/shop' }));
    assert.equal(error.code, 'PILOT_BUILD_DIR_MISSING');
    assert.match(error.message, /build-dir "apps\/shop" is not a directory of this push: .*pilot apps:set build-dir DIR/);
  });
});

describe('isReadFile', () => {
  it('reads package managers\' and Heroku\'s files anywhere in the tree, not sources', () => {
    for (const file of ['package.json', 'apps/web/package.json', 'pnpm-workspace.yaml', '.yarnrc.yml', 'yarn.lock', '.nvmrc', '.node-version', 'Procfile', 'app.json']) {
      assert.equal(isReadFile(file), true, file);
    }
    for (const file of ['server.js', 'package.json.bak', 'README.md', 'package-lock.json']) assert.equal(isReadFile(file), false, file);
  });
});
