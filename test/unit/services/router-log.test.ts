import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { routerLine } from '../../../src/services/router-log.js';
import { LogService, fullTimestamp } from '../../../src/services/logs.js';
import { AccessLogFiles, appOfAccessEntry } from '../../../src/adapters/caddy/access-log.js';
import { buildCore } from '../../helpers/core.js';
import { tempDir, waitFor } from '../../helpers/integration.js';
import type { LogLine } from '../../../src/domain/shapes.js';

/** An entry as Caddy 2.6 writes it with Pilot's filter (no headers). */
function entry(fields: { ts: number; uri?: string; host?: string; status?: number }): string {
  return JSON.stringify({
    level: 'info', ts: fields.ts, logger: 'http.log.access.log0', msg: 'handled request',
    request: { remote_ip: '203.0.113.5', remote_port: '50000', proto: 'HTTP/2.0', method: 'GET', host: fields.host ?? 'shop.example.com:8443', uri: fields.uri ?? '/' },
    duration: 0.0042, size: 123, status: fields.status ?? 200,
  });
}

describe('router lines from Caddy access log entries', () => {
  it('reads an entry as Heroku prints a router line, at the time Caddy logged it', () => {
    const line = routerLine(entry({ ts: 1796137371.25, uri: '/cart?id=3' }));
    assert.equal(line?.text, 'method=GET path="/cart?id=3" host=shop.example.com status=200 bytes=123 duration=4ms client=203.0.113.5 protocol=HTTP/2.0');
    assert.equal(fullTimestamp(line?.at ?? 0n), '2026-12-01T15:02:51.250000000Z');
  });

  it('quotes what visitors choose, control characters escaped, and skips lines that are not entries', () => {
    const hostile = routerLine(entry({ ts: 1, uri: '/a b"\u001b[31m\nstatus=500' }));
    assert.equal(hostile?.text.split(' status=')[0], 'method=GET path="/a b\\"\\u001b[31m\\nstatus=500" host=shop.example.com');
    assert.ok(![...(hostile?.text ?? '')].some((character) => character.charCodeAt(0) < 0x20), 'no control character');
    for (const junk of ['', '{"ts":1', '{"level":"info","ts":1,"msg":"other logger"}', 'null', '[]']) assert.equal(routerLine(junk), undefined, junk);
  });
});

describe('AccessLogFiles (the files Caddy writes, one per app, rolled over once)', () => {
  it('gives the last lines across the roll-over, and follows a cursor through one without losing a line', async () => {
    const dir = tempDir('access-logs');
    const files = new AccessLogFiles(dir);
    const current = path.join(dir, 'app-7.log');
    fs.writeFileSync(current, 'a\nb\n');
    const start = await files.after(7, undefined);
    assert.deepEqual(start.entries, []);
    fs.appendFileSync(current, 'c\nd-still-being-writ');
    const first = await files.after(7, start.cursor);
    assert.deepEqual(first.entries, ['c'], 'a line still being written waits');
    fs.appendFileSync(current, 'ten\ne\n');
    // Caddy rolls over: the file is renamed with the time, a new one begins.
    fs.renameSync(current, path.join(dir, 'app-7-2026-12-01T15-00-00.000.log'));
    fs.writeFileSync(current, 'f\n');
    const second = await files.after(7, first.cursor);
    assert.deepEqual(second.entries, ['d-still-being-written', 'e', 'f']);
    assert.deepEqual(await files.last(7, 3), ['d-still-being-written', 'e', 'f']);
    assert.deepEqual(await files.last(7, 100), ['a', 'b', 'c', 'd-still-being-written', 'e', 'f']);
    assert.deepEqual(await files.last(8, 5), [], "another app's log is its own");
    files.remove(7);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('reads the last lines of a file larger than a read chunk', async () => {
    const dir = tempDir('access-logs');
    const lines = Array.from({ length: 5000 }, (_, index) => `line ${index} ${'é'.repeat(20)}`);
    fs.writeFileSync(path.join(dir, 'app-1.log'), `${lines.join('\n')}\n`);
    assert.deepEqual(await new AccessLogFiles(dir).last(1, 2500), lines.slice(-2500));
  });
});

describe("swarm mode: access log entries from the output of Caddy's container", () => {
  const tagged = (appId: number, ts: number): string => JSON.stringify({ ...JSON.parse(entry({ ts })), user_id: `pilot-app-${appId}` });

  it('tells whose entry a line is by its tag, and nothing of other lines', () => {
    assert.equal(appOfAccessEntry(tagged(7, 1)), 7);
    for (const other of [
      entry({ ts: 1 }),
      JSON.stringify({ level: 'info', ts: 1, logger: 'tls.obtain', msg: 'certificate obtained successfully', identifier: 'shop.example.com', user_id: 'pilot-app-7' }),
      JSON.stringify({ ...JSON.parse(tagged(7, 1)), user_id: 'pilot-app-7x' }),
      '{"logger":"http.log.access.log0","user_id":"pilot-app-', 'null', 'plain text',
    ]) assert.equal(appOfAccessEntry(other), undefined, other);
  });

  it('appends each entry to the app\'s file, read back as Caddy\'s own, and rolls it over as Caddy does: one old file kept', async () => {
    const dir = tempDir('access-logs');
    const lines = Array.from({ length: 6 }, (_, index) => tagged(3, index + 1));
    const rollBytes = Buffer.byteLength(`${lines[0]}\n`) * 2;
    const files = new AccessLogFiles(dir, rollBytes);
    files.append(3, lines[0] ?? '');
    const start = await files.after(3, undefined);
    for (const line of lines.slice(1, 3)) files.append(3, line);
    const read = await files.after(3, start.cursor);
    assert.deepEqual(read.entries, lines.slice(1, 3), 'a follower reads them across the roll-over');
    for (const line of lines.slice(3)) files.append(3, line);
    assert.deepEqual(await files.last(3, 10), lines.slice(2), 'the current file and the one kept');
    assert.equal(fs.readdirSync(dir).length, 2);
    assert.deepEqual((await files.last(3, 1)).map((line) => routerLine(line)?.text.split(' ')[0]), ['method=GET']);
    files.remove(3);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('pilot logs with router lines (LogService over the fake runtime and real access log files)', () => {
  it('merges router lines with the processes in time order; --ps router gives them alone, --ps web none', async () => {
    const core = buildCore();
    const app = core.apps.create('shop');
    await core.liveRelease(app);
    const [web] = await core.runtime.list({ app: 'shop' });
    assert.ok(web);
    const dir = tempDir('access-logs');
    const logs = new LogService({ releases: core.releases, runtime: core.runtime, router: new AccessLogFiles(dir), timing: { pollMs: 10, settleMs: 20 } });
    const now = Date.now() / 1000;
    core.runtime.writeLog(web.id, 'booted', new Date((now - 2) * 1000).toISOString());
    fs.writeFileSync(path.join(dir, `app-${app.id}.log`), `${entry({ ts: now - 1, uri: '/first' })}\n`);
    core.runtime.writeLog(web.id, 'served', new Date(now * 1000).toISOString());
    fs.writeFileSync(path.join(dir, `app-${app.id + 1}.log`), `${entry({ ts: now - 1, uri: '/other-app' })}\n`);
    const shown = (lines: LogLine[]) => lines.map((line) => `${line.process} | ${line.text.split(' host=')[0]}`);
    assert.deepEqual(shown(await logs.tail(app, { lines: 10 })), ['web.1 | booted', 'router | method=GET path="/first"', 'web.1 | served']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 10, ps: 'router' })), ['router | method=GET path="/first"']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 10, ps: 'web' })), ['web.1 | booted', 'web.1 | served']);

    const received: LogLine[] = [];
    const follower = logs.follow(app, { lines: 0, ps: 'router' }, (line) => received.push(line));
    try {
      // Written once the follower runs: only what comes after its start.
      await new Promise((resolve) => setTimeout(resolve, 50));
      fs.appendFileSync(path.join(dir, `app-${app.id}.log`), `${entry({ ts: Date.now() / 1000, uri: '/followed' })}\n`);
      await waitFor('the followed router line', async () => (received.some((line) => line.text.includes('/followed')) ? true : undefined), 5000, 10);
    } finally {
      follower.stop();
      await follower.done;
    }
    assert.deepEqual(shown(received), ['router | method=GET path="/followed"']);
  });
});
