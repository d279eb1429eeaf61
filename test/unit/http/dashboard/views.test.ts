import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../../src/adapters/templates.js';
import { loadDashboardViews } from '../../../../src/http/dashboard/views.js';
import { summarize } from '../../../../src/http/dashboard/pages.js';
import type { AppStatus, ProcessView } from '../../../../src/domain/shapes.js';

const views = loadDashboardViews(path.join(PROJECT_ROOT, 'dashboard', 'templates'));

describe('dashboard views', () => {
  it('renders a log escaped, with its colours as classes', () => {
    const html = views.ansi('\u001b[31mred\u001b[0m <script>alert(1)</script> <img src=x onerror=alert(2)> https://example.com');
    assert.match(html, /<span class="ansi-red-fg">red<\/span>/);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;'), html);
    assert.doesNotMatch(html, /<a /, 'links stay text');
  });

  it('writes no inline style, which the CSP refuses: bold, faint, italic and underline as classes, other colours left out', () => {
    const html = views.ansi('\u001b[1;31mbold red\u001b[0m \u001b[2mfaint\u001b[0m \u001b[3;4mboth\u001b[0m \u001b[38;5;196mpalette\u001b[0m \u001b[48;2;1;2;3mrgb\u001b[0m " style="x"');
    assert.doesNotMatch(html, /<[^>]* style=/, 'no element with a style attribute');
    assert.equal(
      html,
      '<span class="ansi-bold ansi-red-fg">bold red</span> <span class="ansi-faint">faint</span> <span class="ansi-italic ansi-underline">both</span> <span>palette</span> <span>rgb</span> &quot; style=&quot;x&quot;',
    );
    const render = views.ansiStream();
    assert.equal(render('\u001b[1mbo') + render('ld\u001b[0m'), '<span class="ansi-bold">bo</span><span class="ansi-bold">ld</span>');
  });

  it('keeps colours across the chunks of one stream', () => {
    const render = views.ansiStream();
    assert.equal(render('\u001b[32mgre') + render('en\u001b[0m'), '<span class="ansi-green-fg">gre</span><span class="ansi-green-fg">en</span>');
  });

  it('writes into the apps page and an app page the newest event they were rendered with, where their sockets resume', () => {
    assert.match(views.render('apps', { title: 'Apps', apps: [], eventsAfter: 41 }), /<div data-live id="apps"[^>]* data-events-after="41"/);
    const app = { name: 'shop', summary: 'running', url: 'https://shop.test', release: null };
    assert.match(views.render('app', { title: 'shop', app, processes: [], types: [], releases: [], building: [], config: [], certificates: [], domains: [], storage: [], tokens: [], eventsAfter: 7 }), /<div data-live id="app-status"[^>]* data-events-after="7"/);
  });

  it("escapes whatever an app or a user sent into a page", () => {
    const html = views.render('release', { title: 't', appName: '<b>x</b>', release: { version: 1, status: 'live', kind: 'deploy', source: '"><script>', description: '<img onerror=1>' }, log: '' });
    assert.ok(!html.includes('<b>x</b>') && !html.includes('"><script>') && !html.includes('<img onerror=1>'));
    assert.ok(html.includes('&lt;img onerror&#x3D;1&gt;'), html);
  });
});

describe('what an app is doing, in one word', () => {
  const status = (overrides: Partial<AppStatus>): AppStatus =>
    ({ name: 'a', createdAt: '', url: '', domains: [], deploying: false, release: { version: 1, kind: 'deploy', gitSha: null, createdAt: '' }, state: 'running', buildDir: null, maintenance: false, watchSeconds: null, ...overrides });
  const process = (overrides: Partial<ProcessView>): ProcessView =>
    ({ type: 'web', index: 1, release: 1, container: 'c', state: 'running', startedAt: null, uptimeSeconds: 1, restarts: 0, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, health: 'healthy', ...overrides });

  it('tells deploying, running, crashed, stopped, failed and new apart', () => {
    assert.equal(summarize(status({ deploying: true }), [], undefined), 'deploying');
    assert.equal(summarize(status({}), [process({})], { status: 'live' }), 'running');
    assert.equal(summarize(status({}), [process({ state: 'restarting' })], { status: 'live' }), 'crashed');
    assert.equal(summarize(status({}), [process({ health: 'unhealthy' })], { status: 'live' }), 'crashed');
    assert.equal(summarize(status({}), [process({ state: 'exited' })], { status: 'live' }), 'stopped');
    assert.equal(summarize(status({ release: null }), [], { status: 'failed' }), 'failed');
    assert.equal(summarize(status({ release: null }), [], undefined), 'new');
  });
});
