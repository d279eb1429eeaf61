import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectFramework, frameworkCacheDirs, frameworkInputOf, type Framework } from '../../../src/pipeline/frameworks.js';
import { DeployError } from '../../../src/domain/errors.js';
import { detectBuildpack, type BuildPlan } from '../../../src/pipeline/detect.js';
import { createTemplateRenderer } from '../../../src/adapters/templates.js';

interface App {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  files?: Record<string, string>;
  procfileWeb?: boolean;
}

function detect(app: App): Framework | undefined {
  const pkg = { dependencies: app.dependencies, devDependencies: app.devDependencies, scripts: app.scripts };
  return detectFramework(frameworkInputOf(pkg, new Map(Object.entries(app.files ?? {})), app.procfileWeb ?? false));
}

const deps = (...names: string[]) => Object.fromEntries(names.map((name) => [name, '*']));
const site = (framework: string, outputDir: string, spaFallback: string | null) => ({ kind: 'static', framework, outputDir, spaFallback });
const server = (framework: string, startCommand: string[] | undefined, extra: object = {}) => ({
  kind: 'server', framework, startCommand, nextStandalone: false, buildEnv: {}, runtimeEnv: {}, ...extra,
});

describe('detectFramework: sites built, then served as files', () => {
  const vite = { devDependencies: deps('vite'), scripts: { dev: 'vite', build: 'tsc && vite build' } };

  it('serves a Vite app from dist/ with the single-page fallback, reading outDir from the config or the build script', () => {
    assert.deepEqual(detect(vite), site('Vite', 'dist', '/index.html'));
    assert.deepEqual(
      detect({ devDependencies: deps('vite'), scripts: { build: 'vite build' }, files: { 'vite.config.ts': "export default { build: { outDir: './public/app/' } }" } }),
      site('Vite', 'public/app', '/index.html'),
    );
    assert.deepEqual(detect({ ...vite, scripts: { build: 'vite build --outDir www' } }), site('Vite', 'www', '/index.html'));
    // A commented-out option is not the config.
    assert.deepEqual(
      detect({ ...vite, files: { 'vite.config.js': "export default {\n  // build: { outDir: 'old' },\n}" } }),
      site('Vite', 'dist', '/index.html'),
    );
  });

  it('needs vite, a build script and a sign it builds with vite; SSR builds and meta-frameworks are not Vite sites', () => {
    assert.equal(detect({ devDependencies: deps('vite'), scripts: { build: 'webpack' } }), undefined);
    assert.equal(detect({ devDependencies: deps('vite'), scripts: { dev: 'vite' } }), undefined);
    assert.equal(detect({ ...vite, scripts: { build: 'vite build --ssr src/entry.ts' } }), undefined);
    assert.equal(detect({ devDependencies: deps('vite', '@remix-run/dev'), scripts: { build: 'remix vite:build' }, files: { 'vite.config.ts': '' } }), undefined);
  });

  it('keeps the app\'s own server when its start script runs one, but not for a dev or preview server', () => {
    assert.equal(detect({ ...vite, scripts: { ...vite.scripts, start: 'node server.js' } }), undefined);
    assert.equal(detect({ ...vite, procfileWeb: true }), undefined);
    assert.deepEqual(detect({ ...vite, scripts: { ...vite.scripts, start: 'vite preview --port $PORT' } }), site('Vite', 'dist', '/index.html'));
  });

  it('serves Create React App from build/ and Angular from its project\'s browser files, both single-page', () => {
    assert.deepEqual(
      detect({ dependencies: deps('react-scripts'), scripts: { start: 'react-scripts start', build: 'react-scripts build' } }),
      site('Create React App', 'build', '/index.html'),
    );
    const angular = (json: object) => detect({
      dependencies: deps('@angular/core'), scripts: { start: 'ng serve', build: 'ng build' }, files: { 'angular.json': JSON.stringify(json) },
    });
    const application = { architect: { build: { builder: '@angular-devkit/build-angular:application', options: { outputPath: 'dist/shop' } } } };
    assert.deepEqual(angular({ projects: { shop: application } }), site('Angular', 'dist/shop/browser', '/index.html'));
    const browser = { architect: { build: { builder: '@angular-devkit/build-angular:browser', options: { outputPath: 'dist/legacy' } } } };
    assert.deepEqual(angular({ projects: { legacy: browser } }), site('Angular', 'dist/legacy', '/index.html'));
    // The default project, else the first application; no outputPath: dist/<project>.
    const library = { projectType: 'library', architect: { build: { options: { outputPath: 'dist/lib' } } } };
    const admin = { projectType: 'application', architect: { build: { builder: '@angular/build:application' } } };
    assert.deepEqual(angular({ projects: { lib: library, admin } }), site('Angular', 'dist/admin/browser', '/index.html'));
    assert.deepEqual(angular({ defaultProject: 'lib', projects: { lib: library, admin } }), site('Angular', 'dist/lib', '/index.html'));
    const split = { architect: { build: { builder: '@angular/build:application', options: { outputPath: { base: 'out', browser: '' } } } } };
    assert.deepEqual(angular({ projects: { split } }), site('Angular', 'out', '/index.html'));
  });

  it('refuses an angular.json that is no JSON or lists no project, saying so', () => {
    const angular = (text: string) => () => detect({ dependencies: deps('@angular/core'), scripts: { build: 'ng build' }, files: { 'angular.json': text } });
    assert.throws(angular('{ projects'), (error: unknown) => error instanceof DeployError && /angular\.json is not valid JSON/.test(error.message));
    assert.throws(angular('{"projects": {}}'), (error: unknown) => error instanceof DeployError && /angular\.json lists no project/.test(error.message));
  });

  it('serves a static Astro site from dist/ without a fallback (a file per page, its 404.html); output server or an adapter is no static site', () => {
    const astro = { dependencies: deps('astro'), scripts: { build: 'astro check && astro build' } };
    assert.deepEqual(detect({ ...astro, files: { 'astro.config.mjs': "export default defineConfig({ site: 'https://x.dev' })" } }), site('Astro', 'dist', null));
    assert.deepEqual(detect({ ...astro, files: { 'astro.config.ts': "export default defineConfig({ outDir: 'build' })" } }), site('Astro', 'build', null));
    assert.equal(detect({ ...astro, files: { 'astro.config.mjs': "export default defineConfig({ output: 'server' })" } }), undefined);
    assert.equal(detect({ ...astro, files: { 'astro.config.mjs': 'export default defineConfig({ adapter: vercel() })' } }), undefined);
    assert.deepEqual(
      detect({ dependencies: deps('astro', '@astrojs/node'), scripts: astro.scripts, files: { 'astro.config.mjs': "export default { output: 'server', adapter: node({ mode: 'standalone' }) }" } }),
      server('Astro (node adapter)', ['node', './dist/server/entry.mjs'], { runtimeEnv: { HOST: '0.0.0.0' } }),
    );
  });

  it('serves a Next.js static export from out/ without a fallback', () => {
    const next = { dependencies: deps('next', 'react'), scripts: { build: 'next build', start: 'next start' } };
    assert.deepEqual(detect({ ...next, files: { 'next.config.mjs': "const config = { output: 'export' };\nexport default config;" } }), site('Next.js static export', 'out', null));
    assert.deepEqual(detect({ ...next, files: { 'next.config.js': 'module.exports = { "output": "export" }' } }), site('Next.js static export', 'out', null));
  });

  it('serves React Router in SPA mode (ssr: false) from build/client with the fallback', () => {
    const app = { dependencies: deps('react-router', '@react-router/serve'), devDependencies: deps('@react-router/dev', 'vite'), scripts: { build: 'react-router build' } };
    assert.deepEqual(detect({ ...app, files: { 'react-router.config.ts': 'export default { ssr: false } satisfies Config;' } }), site('React Router (SPA mode)', 'build/client', '/index.html'));
    assert.deepEqual(
      detect({ ...app, scripts: { ...app.scripts, start: 'react-router-serve ./build/server/index.js' }, files: { 'react-router.config.ts': 'export default { ssr: true }' } }),
      server('React Router', undefined),
    );
  });

  it('serves SvelteKit with adapter-static from its pages directory, falling back to the fallback page it names', () => {
    const kit = { devDependencies: deps('@sveltejs/kit', '@sveltejs/adapter-static', 'svelte', 'vite'), scripts: { build: 'vite build' } };
    assert.deepEqual(detect({ ...kit, files: { 'svelte.config.js': "adapter: adapter({ pages: 'site', fallback: '200.html' })" } }), site('SvelteKit (static adapter)', 'site', '/200.html'));
    assert.deepEqual(detect({ ...kit, files: { 'svelte.config.js': 'adapter: adapter()' } }), site('SvelteKit (static adapter)', 'build', null));
  });
});

describe('detectFramework: server frameworks started right', () => {
  it('starts Next.js with next start on $PORT unless the start script says how', () => {
    assert.deepEqual(
      detect({ dependencies: deps('next'), scripts: { build: 'next build' } }),
      server('Next.js', ['next', 'start'], { buildEnv: { NEXT_TELEMETRY_DISABLED: '1' } }),
    );
    assert.deepEqual(
      detect({ dependencies: deps('next'), scripts: { build: 'next build', start: 'next start -p $PORT' } }),
      server('Next.js', undefined, { buildEnv: { NEXT_TELEMETRY_DISABLED: '1' } }),
    );
  });

  it('runs a standalone Next.js build with its own server.js on all interfaces, even when the start script is next start', () => {
    const standalone = {
      kind: 'server', framework: 'Next.js (standalone)', startCommand: ['node', 'server.js'], nextStandalone: true,
      buildEnv: { NEXT_TELEMETRY_DISABLED: '1' }, runtimeEnv: { HOSTNAME: '0.0.0.0' },
    };
    const app = { dependencies: deps('next'), scripts: { build: 'next build', start: 'next start' }, files: { 'next.config.ts': "const nextConfig: NextConfig = { output: 'standalone' };" } };
    assert.deepEqual(detect(app), standalone);
    // A start script of the app's own, or a Procfile, is what runs.
    assert.equal((detect({ ...app, scripts: { ...app.scripts, start: 'node custom-server.js' } }) as { nextStandalone: boolean }).nextStandalone, false);
    assert.equal((detect({ ...app, procfileWeb: true }) as { nextStandalone: boolean }).nextStandalone, false);
  });

  it('starts Nuxt, SvelteKit on adapter-node, Remix and React Router with their servers when there is no start script', () => {
    assert.deepEqual(detect({ dependencies: deps('nuxt'), scripts: { build: 'nuxt build' } }), server('Nuxt', ['node', '.output/server/index.mjs']));
    assert.deepEqual(detect({ dependencies: deps('nuxt'), scripts: { build: 'nuxt build', start: 'node .output/server/index.mjs --x' } }), server('Nuxt', undefined));
    assert.deepEqual(
      detect({ devDependencies: deps('@sveltejs/kit', '@sveltejs/adapter-node', 'vite'), scripts: { build: 'vite build' } }),
      server('SvelteKit', ['node', 'build']),
    );
    assert.deepEqual(
      detect({ devDependencies: deps('@sveltejs/kit', '@sveltejs/adapter-auto'), scripts: { build: 'vite build' } }),
      server('SvelteKit', ['node', 'build'], { buildEnv: { GCP_BUILDPACKS: 'true' } }),
    );
    assert.equal(detect({ devDependencies: deps('@sveltejs/kit', '@sveltejs/adapter-vercel'), scripts: { build: 'vite build' } }), undefined);
    assert.deepEqual(
      detect({ dependencies: deps('@react-router/serve'), devDependencies: deps('@react-router/dev'), scripts: { build: 'react-router build' } }),
      server('React Router', ['react-router-serve', './build/server/index.js']),
    );
    assert.deepEqual(
      detect({ dependencies: deps('@remix-run/serve'), devDependencies: deps('@remix-run/dev'), scripts: { build: 'remix vite:build' }, files: { 'vite.config.ts': '' } }),
      server('Remix', ['remix-serve', './build/server/index.js']),
    );
    assert.deepEqual(
      detect({ dependencies: deps('@remix-run/serve'), scripts: { build: 'remix build' } }),
      server('Remix', ['remix-serve', './build/index.js']),
    );
  });

  it('names the caches a build reuses: .next/cache, node_modules/.vite, node_modules/.astro', () => {
    const dirs = (app: App) => frameworkCacheDirs(frameworkInputOf({ dependencies: app.dependencies, scripts: app.scripts }, new Map(), false));
    assert.deepEqual(dirs({ dependencies: deps('next'), scripts: { build: 'next build' } }), ['.next/cache']);
    assert.deepEqual(dirs({ dependencies: deps('astro', 'vite'), scripts: { build: 'astro build' } }), ['node_modules/.vite', 'node_modules/.astro']);
    assert.deepEqual(dirs({ dependencies: deps('express'), scripts: { build: 'tsc' } }), []);
  });

  it('says nothing of a plain Node.js app', () => {
    assert.equal(detect({ dependencies: deps('express'), scripts: { start: 'node index.js', build: 'tsc' } }), undefined);
  });
});

describe('the node buildpack plan and Dockerfile of a framework app', () => {
  const settings = { nodeImage: 'node:{{major}}-bookworm-slim', staticImage: 'caddy:2-alpine' };
  const renderer = createTemplateRenderer();
  const planOf = (files: Record<string, string>) =>
    detectBuildpack({ files: new Set(Object.keys(files)), contents: new Map(Object.entries(files)) }, settings);
  const render = (plan: BuildPlan) => renderer.renderDockerfile(plan.buildpack, { ...plan.dockerfileContext, imageTag: 'pt/web:v1' });
  const install = [
    "# Generated by Pilot's node buildpack (buildpacks/node/Dockerfile.hbs).",
    'FROM node:20-bookworm-slim AS build',
    'WORKDIR /app',
    '',
    '# Dependencies (dev dependencies included) in their own layer: only the files the install',
    '# reads come first, so a push that changes only source files reuses this layer from the cache.',
    'COPY app/package.json app/package-lock.json /app/',
    'RUN npm ci',
    '',
    'COPY app/ /app/',
    'WORKDIR /app',
  ];
  /** The build stage's last step: the Node.js the image has (test/unit/pipeline/node-version.test.ts has its text). */
  const nodeCheck = (rendered: string) => rendered.split('\n').find((line) => line.startsWith('RUN : pt/web:v1 && version=$(node --version)')) ?? 'no Node.js check';
  const nodeCheckComment = '# The Node.js the image really has, on every push: the release tag makes the step new each time.';
  const restoredCache = ['# The framework caches (.next/cache...) the app\'s previous build left.', 'COPY build-cache/ ./'];

  it('builds a Vite app with Node, then serves dist/ from the static image with the static buildpack\'s Caddyfile', () => {
    const plan = planOf({
      'package.json': JSON.stringify({ engines: { node: '20.x' }, devDependencies: { vite: '^8' }, scripts: { build: 'vite build' } }),
      'package-lock.json': '{}',
    });
    assert.equal(plan.description, 'Node.js app (node 20, npm ci); Vite site in dist/, served as static files, unknown pages answer /index.html');
    assert.deepEqual(plan.alsoUses, ['static']);
    assert.deepEqual(plan.buildCacheDirs, ['node_modules/.vite']);
    assert.equal(plan.port, 5000);
    const rendered = render(plan);
    assert.equal(rendered, [
      ...install,
      ...restoredCache,
      'RUN npm run build',
      nodeCheckComment,
      nodeCheck(rendered),
      'RUN test -d dist || { echo "the build wrote no dist/, where Pilot looks for the Vite site" >&2; exit 1; }',
      '',
      '# The built site alone, served by Caddy as the static buildpack serves one: no Node.js in the image.',
      'FROM caddy:2-alpine',
      'COPY buildpack-static/Caddyfile /etc/pilot/Caddyfile',
      'COPY --from=build /app/dist /srv',
      'ENV PORT=5000 PILOT_SPA_FALLBACK=/index.html',
      'EXPOSE 5000',
      '# Served as nobody, as the static buildpack serves a site.',
      'ENV HOME=/tmp XDG_CONFIG_HOME=/tmp XDG_DATA_HOME=/tmp',
      'USER 65534:65534',
      'CMD ["caddy", "run", "--config", "/etc/pilot/Caddyfile", "--adapter", "caddyfile"]',
      '',
    ].join('\n'));
  });

  it('serves a Next.js export without the fallback, and needs no start command', () => {
    const plan = planOf({
      'package.json': JSON.stringify({ engines: { node: '20.x' }, dependencies: { next: '^16' }, scripts: { build: 'next build' } }),
      'package-lock.json': '{}',
      'next.config.mjs': "export default { output: 'export' };",
    });
    assert.match(render(plan), /COPY --from=build \/app\/out \/srv\nENV PORT=5000\n/);
  });

  it('keeps only the standalone Next.js server, with public/ and .next/static, listening on all interfaces', () => {
    const plan = planOf({
      'package.json': JSON.stringify({ engines: { node: '20.x' }, dependencies: { next: '^16' }, scripts: { build: 'next build', start: 'next start' } }),
      'package-lock.json': '{}',
      'next.config.ts': "const config: NextConfig = { output: 'standalone' };\nexport default config;",
    });
    assert.equal(plan.description, 'Node.js app (node 20, npm ci); Next.js (standalone) server');
    assert.equal(plan.alsoUses, undefined);
    assert.deepEqual(plan.buildCacheDirs, ['.next/cache']);
    const rendered = render(plan);
    assert.equal(rendered, [
      ...install,
      ...restoredCache,
      'ENV NEXT_TELEMETRY_DISABLED=1',
      'RUN npm run build',
      nodeCheckComment,
      nodeCheck(rendered),
      '',
      '# Next.js standalone output: its server and the node_modules it traced, with public/ and',
      '# .next/static beside it (next build leaves them out); nothing else of the build is kept.',
      "# In a monorepo the server sits at the app's path under the workspace root Next.js traced from.",
      'RUN mkdir -p public && cp -r public .next/standalone/ && cp -r .next/static .next/standalone/.next/',
      '',
      'FROM node:20-bookworm-slim',
      'WORKDIR /app',
      'COPY --from=build /app/.next/standalone ./',
      '',
      'ENV NODE_ENV=production PORT=5000 PATH=$PATH:/app/node_modules/.bin HOSTNAME=0.0.0.0',
      'EXPOSE 5000',
      'CMD ["node","server.js"]',
      '',
    ].join('\n'));
  });

  it('starts Nuxt with its built server when package.json has no start script, and the Procfile still wins', () => {
    const nuxt = { engines: { node: '20.x' }, dependencies: { nuxt: '^4' }, scripts: { build: 'nuxt build' } };
    const plan = planOf({ 'package.json': JSON.stringify(nuxt), 'package-lock.json': '{}' });
    assert.deepEqual(plan.dockerfileContext?.startCommand, ['node', '.output/server/index.mjs']);
    assert.equal(plan.buildCacheDirs, undefined);
    assert.match(render(plan), /RUN npm run build\nRUN npm prune --omit=dev\n# The Node.js .*\nRUN : .*\n\nENV NODE_ENV=production PORT=5000 PATH=\$PATH:\/app\/node_modules\/.bin\nEXPOSE 5000\nCMD \["node",".output\/server\/index.mjs"\]\n$/);
    const withProcfile = planOf({ 'package.json': JSON.stringify(nuxt), 'package-lock.json': '{}', Procfile: 'web: node .output/server/index.mjs --inspect\n' });
    assert.deepEqual(withProcfile.dockerfileContext?.startCommand, ['/bin/sh', '-c', 'exec node .output/server/index.mjs --inspect']);
  });

describe('frameworks in a monorepo app directory (build-dir)', () => {
  const renderer = createTemplateRenderer();
  const settings = { nodeImage: 'node:{{major}}-bookworm-slim', staticImage: 'caddy:2-alpine' };
  const workspace = (app: Record<string, unknown>, extra: Record<string, string> = {}) => {
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: 'root', private: true, workspaces: ['apps/*'] }),
      'package-lock.json': '{}',
      'apps/web/package.json': JSON.stringify({ name: 'web', engines: { node: '20.x' }, ...app }),
      ...extra,
    };
    const plan = detectBuildpack({ files: new Set(Object.keys(files)), contents: new Map(Object.entries(files)) }, settings, { appDir: 'apps/web', configVars: {} });
    return renderer.renderDockerfile(plan.buildpack, { ...plan.dockerfileContext, imageTag: 'pt/web:v1' });
  };

  it('serves the built site from the app directory of the build stage', () => {
    const rendered = workspace({ devDependencies: { vite: '^8' }, scripts: { build: 'vite build' } });
    assert.match(rendered, /^COPY --from=build \/app\/apps\/web\/dist \/srv$/m);
  });

  it('runs a standalone Next.js server from its path under the traced workspace root, and finds hoisted tools on PATH', () => {
    const rendered = workspace(
      { dependencies: { next: '^16' }, scripts: { build: 'next build' } },
      { 'apps/web/next.config.mjs': "export default { output: 'standalone' };" },
    );
    assert.match(rendered, /cp -r public \.next\/standalone\/apps\/web\/ && cp -r \.next\/static \.next\/standalone\/apps\/web\/\.next\//);
    assert.match(rendered, /COPY --from=build \/app\/apps\/web\/\.next\/standalone \.\/\nWORKDIR \/app\/apps\/web\/\n/);
    const server = workspace({ dependencies: { next: '^16' }, scripts: { build: 'next build' } });
    assert.match(server, /PATH=\$PATH:\/app\/apps\/web\/node_modules\/\.bin:\/app\/node_modules\/\.bin/);
    assert.match(server, /CMD \["next","start"\]/);
  });
});
});
