import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../src/adapters/templates.js';
import { freePort, integrationSkipReason, stopChild, tempDir, waitFor } from '../helpers/integration.js';

const skip = integrationSkipReason();

/** The static buildpack's Caddyfile, run by the real caddy on a site of the test's own (its /srv moved to a temp dir). */
describe('the static buildpack Caddyfile', { skip }, () => {
  const site = tempDir('site');
  const servers: ChildProcess[] = [];

  before(() => {
    const files: Record<string, string> = {
      'index.html': 'the home page', 'about/index.html': 'about page', 'blog.html': 'blog page',
      '404.html': 'our not found page', 'assets/app.js': 'console.log(1)', '200.html': 'the app shell',
    };
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(site, file)), { recursive: true });
      fs.writeFileSync(path.join(site, file), content);
    }
  });
  after(async () => {
    await Promise.all(servers.map((server) => stopChild(server, 'SIGTERM')));
  });

  async function serve(env: Record<string, string>): Promise<(urlPath: string) => Promise<{ status: number; body: string }>> {
    const config = path.join(tempDir('caddyfile'), 'Caddyfile');
    const original = fs.readFileSync(path.join(PROJECT_ROOT, 'buildpacks', 'static', 'Caddyfile'), 'utf8');
    assert.match(original, /root \* \/srv\n/);
    fs.writeFileSync(config, original.replace('root * /srv', `root * ${site}`));
    const port = await freePort();
    const server = spawn('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
      env: { PATH: process.env.PATH, HOME: tempDir('caddy-home'), PORT: String(port), ...env }, stdio: 'ignore',
    });
    servers.push(server);
    const get = (urlPath: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    await waitFor('caddy answering', async () => (await get('/')).status === 200 || undefined, 15_000);
    return get;
  }

  it('serves clean URLs, and a missing page or asset as the site\'s 404.html with status 404', async () => {
    const get = await serve({});
    assert.deepEqual(await get('/'), { status: 200, body: 'the home page' });
    assert.deepEqual(await get('/about'), { status: 200, body: 'about page' });
    assert.deepEqual(await get('/blog'), { status: 200, body: 'blog page' });
    assert.deepEqual(await get('/settings/profile'), { status: 404, body: 'our not found page' });
    assert.deepEqual(await get('/assets/missing.js'), { status: 404, body: 'our not found page' });
  });

  it('answers a path that is no file with the PILOT_SPA_FALLBACK page and 200, but keeps missing assets 404', async () => {
    const get = await serve({ PILOT_SPA_FALLBACK: '/200.html' });
    assert.deepEqual(await get('/settings/profile'), { status: 200, body: 'the app shell' });
    assert.deepEqual(await get('/about'), { status: 200, body: 'about page' });
    assert.deepEqual(await get('/assets/app.js'), { status: 200, body: 'console.log(1)' });
    assert.deepEqual(await get('/assets/missing.js'), { status: 404, body: 'our not found page' });
  });
});
