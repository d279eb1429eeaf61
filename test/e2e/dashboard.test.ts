import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason() ?? (fs.existsSync('/usr/bin/chromium') ? undefined : 'no /usr/bin/chromium (apt-get install chromium)');
/** Screenshots of each page: the test's output, never committed (.gitignore). */
const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output', 'dashboard');

const SCRIPT = '<script>window.__xss = "script"</script>';
const IMAGE = '<img src=x onerror="window.__xss = \'img\'">';

/** A Node app whose build prints markup with ANSI colours, and whose web process logs each request. */
function appFiles(version: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'dashboard-app', version, private: true, scripts: { build: 'node build.js', start: 'node web.js' } }),
    'package-lock.json': JSON.stringify({ name: 'dashboard-app', version, lockfileVersion: 3, requires: true, packages: { '': { name: 'dashboard-app', version } } }),
    'build.js': `console.log('\\u001b[32mbuilding ${version}\\u001b[0m ' + ${JSON.stringify(SCRIPT)} + ' ' + ${JSON.stringify(IMAGE)});\n`,
    'web.js':
      "require('http').createServer((request, response) => {\n" +
      "  console.log('\\u001b[32mrequest\\u001b[0m ' + request.url);\n" +
      "  response.end('version ${version} ' + (process.env.GREETING || ''));\n".replace('${version}', version) +
      '}).listen(process.env.PORT);\n',
  };
}

describe('dashboard: a real browser against a real Pilot (real pushes, Docker, Caddy)', { skip }, () => {
  let pilot: TestPilot;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let client: GitClient;
  let base: string;
  const dialogs: string[] = [];

  before(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    pilot = await startTestPilot();
    base = `https://pilot.${pilot.domain}:${pilot.httpsPort}`;
    // One browser for the whole file; each session its own context (cookies).
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', `--host-resolver-rules=MAP *.${pilot.domain} 127.0.0.1`],
    });
    admin = await newContext();
    page = await admin.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    client = new GitClient(tempDir('dashboard-app'));
    await client.init();
  });
  after(async () => {
    await browser?.close();
    await pilot?.close();
  });

  /**
   * A browser session on Pilot's own address (http://PILOT_BIND:PILOT_PORT), or through Caddy at
   * https://pilot.<domain> as a user opens it (the test CA is not in the browser's store).
   * Forms are driven on Pilot's address: through Caddy 2.6, a request in flight while a rollout
   * reloads Caddy's routes was seen cut here, which is Caddy's to answer, not the dashboard's.
   */
  function newContext(through: 'pilot' | 'caddy' = 'pilot'): Promise<BrowserContext> {
    return browser.newContext({ baseURL: through === 'caddy' ? base : pilot.server.address, ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  }

  function api(method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(body ? { payload: body } : {}) });
  }

  /**
   * Opens a page; again when Chromium gave up because the host's network changed, as it does
   * each time Docker adds or removes an app's bridge network on this machine.
   */
  async function open(target: Page, url: string): Promise<Response | null> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await target.goto(url);
      } catch (error) {
        // Chromium names it, or shows its error page in place of the one asked for.
        const networkChanged = /ERR_NETWORK_CHANGED|chrome-error:\/\/chromewebdata/.test(String(error));
        if (attempt >= 5 || !networkChanged) throw error;
      }
    }
  }

  async function snapshot(target: Page, name: string): Promise<void> {
    await target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    const results = await new AxeBuilder({ page: target }).analyze();
    const serious = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    assert.deepEqual(serious.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`), [], `${name}: accessibility`);
  }

  async function signIn(target: Page, token: string): Promise<void> {
    await open(target, '/');
    assert.match(new URL(target.url()).pathname, /^\/sign-in$/);
    await target.getByLabel(/^Token/).fill(token);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await target.waitForURL((url) => url.pathname !== '/sign-in');
  }

  /** A form POST sent by the page itself (its cookies, its origin), as a forged request would be. */
  async function post(target: Page, url: string, body: string): Promise<[number, string]> {
    return (await target.evaluate(
      `fetch(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: ${JSON.stringify(body)} }).then(async (answer) => [answer.status, await answer.text()])`,
    )) as [number, string];
  }

  /**
   * Clicks a form's button and waits for its answer: the page again, with the outcome, or (a
   * rollout that takes longer) with the change under way, which the page then shows live.
   */
  async function submit(target: Page, button: string, notice: string | RegExp): Promise<void> {
    const [answer] = await Promise.all([
      target.waitForResponse((response) => response.request().method() === 'POST', { timeout: 60_000 }),
      target.getByRole('button', { name: button, exact: true }).click(),
    ]);
    assert.equal(answer.status(), 303, `${button}: ${answer.status()} ${await answer.text().catch(() => '')}`);
    const flash = target.locator('.flash');
    await flash.waitFor({ timeout: 30_000 });
    const text = (await flash.textContent()) ?? '';
    if (!text.startsWith('under way')) assert.ok(typeof notice === 'string' ? text.includes(notice) : notice.test(text), text);
  }

  async function noMarkupRan(target: Page): Promise<void> {
    assert.equal(await target.evaluate('window.__xss'), undefined, 'no injected script ran');
    assert.deepEqual(dialogs, []);
  }

  it('signs in with the admin token through Caddy into an HttpOnly, Secure, SameSite=Strict session cookie, and on Pilot\'s own address', async () => {
    const throughCaddy = await newContext('caddy');
    try {
      const caddyPage = await throughCaddy.newPage();
      await open(caddyPage, '/sign-in');
      await snapshot(caddyPage, 'sign-in');
      await signIn(caddyPage, pilot.token);
      await caddyPage.getByRole('heading', { name: 'Apps' }).waitFor();
      const cookie = (await throughCaddy.cookies()).find((entry) => entry.name === '__Host-pilot_session');
      assert.ok(cookie, 'the session cookie, __Host- over HTTPS');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.secure, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.ok(cookie.expires > Date.now() / 1000, 'it expires');
    } finally {
      await throughCaddy.close();
    }
    await signIn(page, pilot.token);
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    const plain = (await admin.cookies()).find((entry) => entry.name === 'pilot_session');
    assert.ok(plain?.httpOnly && plain.sameSite === 'Strict' && !plain.secure, 'over plain HTTP: HttpOnly, SameSite=Strict, not Secure');
  });

  it('streams a push into the app page as it happens, then shows the app live; the build log renders markup as text', async () => {
    assert.equal((await api('POST', '/apps', { name: 'shop' })).statusCode, 201);
    await open(page, '/apps/shop');
    await client.commit(appFiles('1.0.0'), 'v1');
    const pushed = pilot.push(client, 'shop');
    // The build's own line, while the push still runs: streamed in, not loaded with the page.
    await page.locator('#build-logs pre', { hasText: 'building 1.0.0' }).waitFor({ timeout: 300_000 });
    const result = await pushed;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stderr.includes('\u001b[32mbuilding 1.0.0\u001b[0m'), `the build's colours reach the pusher: ${result.stderr}`);
    await page.locator('#app-status .state', { hasText: /^running$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#release-table', { hasText: 'v1' }).waitFor();
    assert.match((await page.locator('#release-table').textContent()) ?? '', /live/);
    // Pushed with the admin token given in PILOT_ADMIN_TOKEN.
    await page.locator('#release-table tr', { hasText: 'v1' }).locator('.made-by', { hasText: 'admin token admin (PILOT_ADMIN_TOKEN)' }).waitFor();

    await open(page, '/apps/shop/releases/1');
    const log = page.locator('pre.log');
    assert.ok((await log.textContent())?.includes(`${SCRIPT} ${IMAGE}`), 'the markup shown as text');
    assert.equal(await log.locator('script, img').count(), 0, 'no element made of the log');
    // Its colour as a class, never an inline style (the CSP refuses those).
    await log.locator('span.ansi-green-fg', { hasText: 'building 1.0.0' }).waitFor();
    assert.equal(await log.locator('[style]').count(), 0);
    await noMarkupRan(page);
    await snapshot(page, 'release');
  });

  it('lists the pushed app on the apps page with its live release and processes', async () => {
    await open(page, '/');
    const row = page.getByRole('row', { name: /shop/ });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /running/);
    assert.match(text, /v1/);
    assert.match(text, /web 1\/1/);
    await snapshot(page, 'apps');
  });

  it('sets a config var from the page and shows the new release; the value renders as text', async () => {
    await open(page, '/apps/shop');
    await page.getByLabel('Key', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill(IMAGE);
    await submit(page, 'Set', 'set GREETING: v2 is live with it');
    await page.locator('#release-table tr', { hasText: 'v2' }).filter({ hasText: 'live' }).waitFor({ timeout: 240_000 });
    assert.match((await page.locator('#release-table').textContent()) ?? '', /v2[\s\S]*config/);
    assert.equal((await pilot.get('shop', '/')).body, `version 1.0.0 ${IMAGE}`);
    await page.getByRole('link', { name: 'Reveal values' }).click();
    const value = page.locator('code.value', { hasText: 'onerror' });
    assert.equal(await value.textContent(), IMAGE);
    assert.equal(await page.locator('table img').count(), 0);
    await noMarkupRan(page);
  });

  it('rolls back after a confirmation, with no rebuild', async () => {
    await open(page, '/apps/shop');
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await page.getByRole('heading', { name: 'Roll back shop' }).waitFor();
    await snapshot(page, 'rollback-confirmation');
    await submit(page, 'Roll back to v1', /rolled back: v3/);
    await page.locator('#release-table tr', { hasText: 'v3' }).filter({ hasText: 'live' }).waitFor({ timeout: 240_000 });
    assert.equal((await pilot.get('shop', '/')).body, 'version 1.0.0 ');
    // Rolled back by the token this session signed in with.
    await page.locator('#release-table tr', { hasText: 'v3' }).locator('.made-by', { hasText: 'admin token admin (PILOT_ADMIN_TOKEN)' }).waitFor();
  });

  it('follows the runtime logs live, pauses, filters and searches', async () => {
    await open(page, '/apps/shop#logs');
    const lines = page.locator('#log-lines');
    const marker = `/seen-${Date.now()}`;
    await waitFor('a request logged on the page', async () => {
      await pilot.get('shop', marker);
      return (await lines.locator('li', { hasText: marker }).count()) > 0 ? true : undefined;
    }, 30_000, 1000);
    await page.getByRole('button', { name: /Following/ }).click();
    const held = `/held-${Date.now()}`;
    await pilot.get('shop', held);
    await page.locator('#log-state', { hasText: /new lines? while paused/ }).waitFor({ timeout: 15_000 });
    assert.equal(await lines.locator('li', { hasText: held }).count(), 0, 'not shown while paused');
    await page.getByRole('button', { name: /Paused/ }).click();
    // The request is logged twice: by the router (Caddy's access log) and by the app's web process.
    const heldByWeb = lines.locator('li[data-type="web"]', { hasText: held });
    await heldByWeb.waitFor();
    assert.ok((await heldByWeb.locator('.ansi-green-fg', { hasText: 'request' }).count()) === 1, 'colours as classes');
    await page.getByLabel('Search').fill(held);
    const found = await lines.locator('li:visible').allTextContents();
    assert.ok(found.length >= 1 && found.every((line) => line.includes(held)), found.join('\n'));
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Process type').selectOption('web');
    const types = await lines.locator('li:visible').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')));
    assert.ok(types.length > 1 && types.every((type) => type === 'web'), types.join(', '));
  });

  it('scales up from the page', async () => {
    await open(page, '/apps/shop');
    await page.getByLabel('web processes').fill('2');
    await submit(page, 'Scale web', 'web scaled to 2');
    await page.locator('#process-table', { hasText: 'web.2' }).waitFor({ timeout: 240_000 });
    await snapshot(page, 'app');
    // At phone width nothing but the tables' own scroll areas is wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'app-phone.png'), fullPage: true });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    const wide = await page.evaluate(
      "[...document.querySelectorAll('body *')].filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1 && !element.closest('.table-wrap, .log')).map((element) => element.tagName + '.' + element.className + '#' + element.id).slice(0, 5).join(', ')",
    );
    assert.ok(overflow <= 1, `page wider than a phone by ${overflow}px: ${String(wide)}`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('refuses a form without its CSRF token', async () => {
    const [status, body] = await post(page, '/apps/shop/scale', 'type=web&quantity=3');
    assert.equal(status, 403);
    assert.match(body, /CSRF token is missing or wrong/);
    assert.equal((await api('GET', '/apps/shop/ps')).json<{ type: string }[]>().filter((process) => process.type === 'web').length, 2, 'still 2');
  });

  it('shows the server page: host, Docker disk use, health, versions, admin tokens', async () => {
    await open(page, '/server');
    for (const heading of ['Host', 'Docker disk use', 'Health', 'Versions', 'Admin tokens']) await page.getByRole('heading', { name: heading }).waitFor();
    assert.match((await page.locator('main').textContent()) ?? '', /Database: ok[\s\S]*Docker: ok[\s\S]*Caddy: ok/);
    await snapshot(page, 'server');
  });

  it("keeps a deploy token's session to its own app", async () => {
    assert.equal((await api('POST', '/apps', { name: 'other' })).statusCode, 201);
    const created = await api('POST', '/tokens', { name: 'other-ci', app: 'other' });
    const context = await newContext();
    try {
      const other = await context.newPage();
      await signIn(other, created.json<{ token: string }>().token);
      assert.equal(new URL(other.url()).pathname, '/apps/other');
      assert.equal((await open(other, '/apps/shop'))?.status(), 403);
      assert.equal((await open(other, '/'))?.url().endsWith('/apps/other'), true, 'the apps page is its app');
      assert.equal((await open(other, '/server'))?.status(), 403);
      // Even with its own session's CSRF token, nothing changes on another app, nor on its own beyond reading.
      await open(other, '/apps/other');
      const csrf = await other.locator('main').getAttribute('data-csrf');
      assert.ok(csrf);
      for (const url of ['/apps/shop/scale', '/apps/other/scale']) {
        const [status] = await post(other, url, `type=web&quantity=3&_csrf=${encodeURIComponent(csrf)}`);
        assert.equal(status, 403, url);
      }
      // A WebSocket to another app's log, from the deploy token's page: refused at the upgrade.
      const otherLog = `${pilot.server.address.replace('http', 'ws')}/apps/shop/logs/live`;
      const socket = await other.evaluate(`new Promise((resolve) => { const ws = new WebSocket(${JSON.stringify(otherLog)}); ws.onopen = () => resolve('open'); ws.onerror = () => resolve('refused'); })`);
      assert.equal(socket, 'refused');
    } finally {
      await context.close();
    }
  });

  it('signs out: the session no longer opens a page', async () => {
    await open(page, '/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await open(page, '/apps/shop');
    assert.equal(new URL(page.url()).pathname, '/sign-in');
  });
});
