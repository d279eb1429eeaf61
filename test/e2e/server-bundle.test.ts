import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { writeZip } from '../helpers/archives.js';
import { GitClient, integrationSkipReason, remoteUrl, tempDir } from '../helpers/integration.js';
import { PilotProcess } from '../helpers/pilot-process.js';

const skip = integrationSkipReason();

/**
 * The server as it is installed is a bundle (scripts/build-server.mjs) whose lazily imported parts
 * are chunks of their own, and whose lazily required libraries stay in node_modules. Each of them is
 * used here once through the bundle: a part that does not load in it fails only there, at its first
 * use, long after the server started. Pushes through the bundle are in reliability, backup and cron.
 */
describe('the bundled server loads each part at its first use (real Pilot process, Docker, Caddy)', { skip }, () => {
  let pilot: PilotProcess;
  const admin = () => ({ authorization: `Bearer ${pilot.token}` });

  before(async () => {
    pilot = await PilotProcess.start();
    const created = await fetch(`${pilot.address}/api/v1/apps`, { method: 'POST', headers: { ...admin(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bundled' }) });
    assert.equal(created.status, 201, await created.text());
  });
  after(async () => {
    await pilot?.close();
  });

  it('validates and serializes through the schema compilers it requires on first use', async () => {
    const refused = await fetch(`${pilot.address}/api/v1/apps`, { method: 'POST', headers: { ...admin(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 5 }) });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { message: string }).message, /name/);
    const list = (await (await fetch(`${pilot.address}/api/v1/apps`, { headers: admin() })).json()) as { name: string }[];
    assert.deepEqual(list.map((app) => app.name), ['bundled']);
  });

  it('answers git over HTTP (node-git-server, its own chunk)', async () => {
    const client = new GitClient(tempDir('bundle-git'));
    const listed = await client.run(['ls-remote', remoteUrl(pilot.address, 'bundled', pilot.token)]);
    assert.equal(listed.code, 0, listed.stderr);
  });

  it('serves Prometheus metrics (prom-client, its own chunk)', async () => {
    const metrics = await fetch(`${pilot.address}/metrics`, { headers: admin() });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# TYPE pilot_deploys_total counter$/m);
  });

  it('signs in to the dashboard and serves its pages and assets (cookies, views, send: chunks)', async () => {
    const form = await fetch(`${pilot.address}/sign-in`);
    const formHtml = await form.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(formHtml)?.[1];
    assert.ok(csrf, formHtml);
    const signedIn = await fetch(`${pilot.address}/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: form.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: pilot.token, _csrf: csrf }).toString(),
    });
    assert.equal(signedIn.status, 303);
    const session = signedIn.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).find((cookie) => cookie?.startsWith('pilot_session='));
    assert.ok(session, 'a session cookie');
    const apps = await fetch(`${pilot.address}/`, { headers: { cookie: session } });
    assert.equal(apps.status, 200);
    assert.match(await apps.text(), /bundled/);
    const css = await fetch(`${pilot.address}/assets/dashboard.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  });

  it('reads an uploaded zip (yauzl, in the archive chunk) and refuses an entry outside the tree', async () => {
    const zip = path.join(tempDir('bundle-zip'), 'evil.zip');
    await writeZip(zip, [{ name: 'index.html', content: '<h1>x</h1>' }, { name: '../escaped.txt', content: 'escaped' }]);
    const answer = await fetch(`${pilot.address}/api/v1/apps/bundled/deploys`, { method: 'POST', headers: { ...admin(), 'content-type': 'application/zip' }, body: fs.readFileSync(zip) });
    assert.equal(answer.status, 400);
    assert.match(((await answer.json()) as { message: string }).message, /the entry "\.\.\/escaped\.txt" has "\.\." in its path/);
  });
});
