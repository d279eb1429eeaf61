/**
 * The dashboard on the built server with 100 apps: the apps page's server time (p50/p99),
 * against an authentication-only API request of the same server; the bytes a first visit
 * transfers (HTML, CSS, JS); and the server's RSS idle, then with the dashboard in use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { IDLE_SETTLE_MS, latency, startServer } from './control-plane.js';
import { printSection, ratio, table, type Section } from './lib.js';
import { installedLaunch, launchLine } from './launch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APPS = 100;
/** How the installed server runs (install.sh, `npm start`). */
const INSTALLED = installedLaunch();

function rssMiB(pid: number): number {
  const kib = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return kib / 1024;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Signs in as a browser does: the form (its CSRF cookie and token), then the token; returns the session's Cookie header. */
async function signIn(url: string, token: string): Promise<{ cookie: string; signInHtml: string }> {
  const form = await fetch(`${url}/sign-in`);
  const signInHtml = await form.text();
  const formCookie = form.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(signInHtml)?.[1] ?? '';
  const answer = await fetch(`${url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, _csrf: csrf }).toString(),
  });
  const cookie = answer.headers.getSetCookie().map((entry) => entry.split(';')[0]).find((entry) => entry?.startsWith('pilot_session='));
  if (answer.status !== 303 || !cookie) throw new Error(`sign-in answered ${answer.status}`);
  return { cookie, signInHtml };
}

export async function run(): Promise<Section> {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const server = await startServer(APPS, async () => undefined, INSTALLED);
  try {
    await settle(IDLE_SETTLE_MS);
    const idle = rssMiB(server.pid);
    const { cookie, signInHtml } = await signIn(server.url, server.token);
    const appsPage = await fetch(`${server.url}/`, { headers: { cookie } });
    const appsHtml = await appsPage.text();
    const rows = (appsHtml.match(/<th scope="row">/g) ?? []).length;
    if (appsPage.status !== 200 || rows !== APPS) throw new Error(`the apps page answered ${appsPage.status} with ${rows} of ${APPS} apps`);
    const css = await (await fetch(`${server.url}/assets/dashboard.css`)).text();
    const js = await (await fetch(`${server.url}/assets/dashboard.js`)).text();

    const whoami = await latency(`${server.url}/api/v1/whoami`, server.token);
    const result = await autocannon({ url: `${server.url}/`, connections: 10, duration: 10, headers: { cookie } });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`apps page: ${result.non2xx} non-2xx, ${result.errors} errors`);
    const page = { p50: result.latency.p50, p99: result.latency.p99, rate: Math.round(result.requests.average) };
    // One app's page and its two live streams open, as a person watching a deploy has them.
    const appPage = await fetch(`${server.url}/apps/app-0`, { headers: { cookie } });
    if (appPage.status !== 200) throw new Error(`the app page answered ${appPage.status}`);
    const sockets = ['/apps/app-0/live', '/apps/app-0/logs/live', '/live'].map((streamPath) => new WebSocket(`${server.url.replace('http', 'ws')}${streamPath}`, { headers: { cookie } }));
    await Promise.all(sockets.map((socket) => new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))));
    await settle(5000);
    const inUse = rssMiB(server.pid);
    for (const socket of sockets) socket.close();
    // What it keeps once nobody looks: a leak would stay here, the load's garbage goes.
    await settle(IDLE_SETTLE_MS);
    const afterUse = rssMiB(server.pid);

    const bytes = (text: string) => Buffer.byteLength(text);
    const gzipped = (text: string) => gzipSync(text).length;
    return {
      title: 'Dashboard',
      body: [
        `The built server (\`${launchLine(INSTALLED)}\`) with ${APPS} apps, signed in with a session cookie.`,
        'Server time of the apps page (every app with its state and processes) against `GET /api/v1/whoami`',
        '(authentication only) on the same server, concurrency 10 for 10 s (autocannon):',
        '',
        table(['request', 'p50 ms', 'p99 ms', 'req/s', 'p99 vs baseline', 'req/s vs baseline'], [
          ['GET /api/v1/whoami (baseline)', whoami.p50, whoami.p99, whoami.rate, '1.00', '1.00'],
          [`GET / (apps page, ${APPS} apps)`, page.p50, page.p99, page.rate, ratio(page.p99, whoami.p99), ratio(page.rate, whoami.rate)],
        ]),
        '',
        'What a first visit transfers (the sign-in page, then the apps page; the CSS and the script are cached after):',
        '',
        table(['resource', 'bytes', 'gzip bytes'], [
          ['HTML: sign-in page', bytes(signInHtml), gzipped(signInHtml)],
          [`HTML: apps page (${APPS} apps)`, bytes(appsHtml), gzipped(appsHtml)],
          ['CSS: dashboard.css', bytes(css), gzipped(css)],
          ['JS: dashboard.js (the only script; no framework)', bytes(js), gzipped(js)],
        ]),
        '',
        table(['server', 'RSS MiB', 'vs idle'], [
          [`idle, ${APPS} apps, dashboard not opened (baseline)`, idle.toFixed(1), '1.00'],
          ['after the load above, an app page and its 3 live streams open', inUse.toFixed(1), ratio(inUse, idle)],
          [`${IDLE_SETTLE_MS / 1000} s after the streams closed (no request)`, afterUse.toFixed(1), ratio(afterUse, idle)],
        ]),
        '',
        `Idle is ${IDLE_SETTLE_MS / 1000} s after start, as in the control plane's section. Target: under 80 MB idle with the dashboard in.`,
        `Result: ${idle.toFixed(1)} MiB idle (${idle * 1.048576 < 80 ? 'met' : 'not met'}); ${inUse.toFixed(1)} MiB in use.`,
      ].join('\n'),
    };
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
