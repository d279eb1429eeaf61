import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GitClient, integrationSkipReason, settledRegistryDate, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const run = promisify(execFile);

/**
 * Apps written here from real registry packages, each with a lockfile npm resolves on the host
 * (nothing is installed there); Pilot installs and builds them in the local node image.
 */
describe('frameworks: sites built then served by Caddy, servers started right (real Docker, Caddy, git)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  async function pushApp(app: string, files: Record<string, string>): Promise<GitResult & { client: GitClient }> {
    const client = new GitClient(tempDir(app));
    await client.init();
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(client.workDir, file)), { recursive: true });
      fs.writeFileSync(path.join(client.workDir, file), content);
    }
    await run('npm', ['install', '--package-lock-only', `--before=${settledRegistryDate()}`, '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: client.workDir, timeout: 180_000 });
    await client.commit({ '.gitignore': 'node_modules/\n' });
    return { ...(await push(client, app)), client };
  }

  async function push(client: GitClient, app: string): Promise<GitResult> {
    const result = await pilot.push(client, app);
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
    return result;
  }

  const get = (app: string, urlPath: string) => pilot.get(app, urlPath);

  it('serves a Vite single-page app: a deep link answers its index.html with 200, a missing asset is a 404', async () => {
    const result = await pushApp('vitespa', {
      'package.json': JSON.stringify({ name: 'vitespa', private: true, type: 'module', scripts: { dev: 'vite', build: 'vite build' }, devDependencies: { vite: '~8.3.0' } }),
      'index.html': '<!doctype html><html><body><div id="app">vite spa shell</div><script type="module" src="/src/main.js"></script></body></html>',
      'src/main.js': "document.querySelector('#app').textContent = `route ${location.pathname}`;",
    });
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node \d+, npm ci\); Vite site in dist\/, served as static files, unknown pages answer \/index\.html/);

    const home = await get('vitespa', '/');
    assert.equal(home.status, 200);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(home.body)?.[1];
    assert.ok(script, `the built index.html names its bundle:\n${home.body}`);
    const deepLink = await get('vitespa', '/settings/profile');
    assert.equal(deepLink.status, 200);
    assert.equal(deepLink.body, home.body);
    const bundle = await get('vitespa', script);
    assert.equal(bundle.status, 200);
    assert.match(String(bundle.headers['content-type']), /javascript/);
    assert.match(bundle.body, /route /);
    assert.equal((await get('vitespa', '/assets/missing.js')).status, 404);
  });

  it('starts a Next.js server app with next start on $PORT, serves a page it renders per request, and keeps .next/cache for the next build', async () => {
    const result = await pushApp('nextserver', {
      'package.json': JSON.stringify({
        // The build says what the previous build left it in .next/cache.
        name: 'nextserver', private: true, scripts: { build: 'test -d .next/cache && echo "restored .next/cache: $(ls .next/cache)"; next build', start: 'next start' },
        dependencies: { next: '^16.0.0', react: '^19.0.0', 'react-dom': '^19.0.0' },
      }),
      'app/layout.js': 'export default function RootLayout({ children }) { return <html><body>{children}</body></html>; }\n',
      'app/page.js': [
        "export const dynamic = 'force-dynamic';",
        'export default function Page() { return <main>{`rendered by the next server, env ${process.env.NODE_ENV}, request ${crypto.randomUUID()}`}</main>; }',
        '',
      ].join('\n'),
    });
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node \d+, npm ci\); Next\.js server/);

    const rendered = async () => {
      const page = await get('nextserver', '/');
      assert.equal(page.status, 200);
      assert.equal(page.headers['x-powered-by'], 'Next.js');
      const text = /rendered by the next server, env production, request ([0-9a-f-]{36})/.exec(page.body);
      assert.ok(text, `the page holds the server-rendered text:\n${page.body.slice(0, 2000)}`);
      return text[1];
    };
    // Rendered for each request by the server, not a page prerendered at build time.
    assert.notEqual(await rendered(), await rendered());
    assert.doesNotMatch(result.stderr, /remote:\s+restored \.next\/cache:/);
    assert.match(result.stderr, /remote: -----> Kept the build cache \(\.next\/cache\) for the next build/);

    await result.client.commit({ 'app/about/page.js': 'export default function About() { return <p>about v2</p>; }\n' }, 'v2');
    const second = await push(result.client, 'nextserver');
    assert.match(second.stderr, /COPY build-cache\/ \.\/\s*\n/);
    assert.match(second.stderr, /remote:\s+restored \.next\/cache: \S+/);
    const about = await get('nextserver', '/about');
    assert.equal(about.status, 200);
    assert.match(about.body, /about v2/);
  });

  it('serves an Astro static site: every page its own file, a missing one its 404 page with status 404', async () => {
    const result = await pushApp('astrosite', {
      'package.json': JSON.stringify({ name: 'astrosite', private: true, type: 'module', scripts: { dev: 'astro dev', build: 'astro build' }, dependencies: { astro: '^5.0.0' } }),
      'astro.config.mjs': "import { defineConfig } from 'astro/config';\n// output: 'server' would make it a server\nexport default defineConfig({});\n",
      'src/pages/index.astro': '<html><body><h1>astro home page</h1><a href="/about">about</a></body></html>\n',
      'src/pages/about.astro': '<html><body><h1>about this astro site</h1></body></html>\n',
      'src/pages/404.astro': '<html><body><h1>astro page not found</h1></body></html>\n',
    });
    assert.match(result.stderr, /remote: -----> Detected Node\.js app \(node \d+, npm ci\); Astro site in dist\/, served as static files\s*\n/);

    const home = await get('astrosite', '/');
    assert.equal(home.status, 200);
    assert.match(home.body, /astro home page/);
    for (const link of ['/about', '/about/']) {
      const about = await get('astrosite', link);
      assert.equal(about.status, 200, link);
      assert.match(about.body, /about this astro site/);
    }
    const missing = await get('astrosite', '/no/such/page');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /astro page not found/);
  });
});
