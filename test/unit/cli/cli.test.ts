import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { credentialsFile, loadCredentials, normalizeUrl, resolveApp, saveCredentials, serverCredentials } from '../../../src/cli/settings.js';
import { createOutput, forTerminal, wantsColour } from '../../../src/cli/output.js';
import { timestampNanos, sinceParameter } from '../../../src/services/logs.js';
import { logQuery, sinceTime } from '../../../src/cli/logs.js';

function capture(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({ write: (chunk, _encoding, done) => ((text += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
  stream.isTTY = isTTY;
  return { stream, text: () => text };
}

describe('CLI settings', () => {
  it('saves the login with mode 0600 and lets PILOT_URL / PILOT_TOKEN override it', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-'));
    try {
      // Not this machine's Pilot settings, if it has any.
      const env = { HOME: home, PILOT_CONFIG_DIR: path.join(home, 'no-pilot-here') };
      assert.throws(() => loadCredentials(env), /not logged in: run `pilot login/);
      saveCredentials({ url: 'https://pilot.example.com', token: 'saved' }, env);
      assert.equal(fs.statSync(credentialsFile(env)).mode & 0o777, 0o600);
      assert.deepEqual(loadCredentials(env), { url: 'https://pilot.example.com', token: 'saved' });
      assert.deepEqual(loadCredentials({ ...env, PILOT_TOKEN: 'env', PILOT_URL: 'http://10.0.0.1:3000/' }), { url: 'http://10.0.0.1:3000', token: 'env' });
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('on the server, without a login, uses the local API and the admin token from the settings install.sh wrote', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-server-'));
    try {
      const configDir = path.join(root, 'etc');
      const dataDir = path.join(root, 'data');
      fs.mkdirSync(configDir);
      fs.mkdirSync(dataDir);
      const env = { HOME: path.join(root, 'home'), PILOT_CONFIG_DIR: configDir };
      assert.equal(serverCredentials(env), undefined, 'no settings: not a server');
      fs.writeFileSync(path.join(configDir, 'pilot.env'), `# Pilot settings\nPILOT_DATA_DIR=${dataDir}\nPILOT_PORT=3100\nPILOT_BIND=127.0.0.1\n`, { mode: 0o600 });
      assert.equal(serverCredentials(env), undefined, 'no token to read yet');
      fs.writeFileSync(path.join(dataDir, 'admin-token'), 'generated-token\n', { mode: 0o600 });
      assert.deepEqual(loadCredentials(env), { url: 'http://127.0.0.1:3100', token: 'generated-token' });
      fs.appendFileSync(path.join(configDir, 'pilot.env'), 'PILOT_ADMIN_TOKEN=configured-token\n');
      assert.deepEqual(loadCredentials(env), { url: 'http://127.0.0.1:3100', token: 'configured-token' });
      saveCredentials({ url: 'https://pilot.example.com', token: 'saved' }, env);
      assert.deepEqual(loadCredentials(env), { url: 'https://pilot.example.com', token: 'saved' }, 'a login wins');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('normalizes server URLs and refuses what is not one', () => {
    assert.equal(normalizeUrl('https://pilot.example.com/'), 'https://pilot.example.com');
    assert.throws(() => normalizeUrl('pilot.example.com'), /is not a URL/);
    assert.throws(() => normalizeUrl('ftp://pilot.example.com'), /use an http:\/\/ or https:\/\/ URL/);
  });

  it('takes the app from --app, else from the pilot git remote', () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-repo-'));
    try {
      execFileSync('git', ['init', '--quiet', repo]);
      assert.equal(resolveApp('given', repo), 'given');
      assert.throws(() => resolveApp(undefined, repo), /pass --app NAME/);
      execFileSync('git', ['-C', repo, 'remote', 'add', 'pilot', 'https://pilot.example.com/shop.git']);
      assert.equal(resolveApp(undefined, repo), 'shop');
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('CLI output', () => {
  it('aligns tables and colours only on a terminal without NO_COLOR', () => {
    const plain = capture(false);
    const out = createOutput({ json: false, stream: plain.stream, env: {} });
    out.print(out.table([{ name: 'shop', release: 'v12' }, { name: 'a', release: null }], ['name', 'release']));
    assert.equal(plain.text(), 'NAME  RELEASE\nshop  v12\na     -\n');
    const tty = capture(true);
    createOutput({ json: false, stream: tty.stream, env: {} }).print(createOutput({ json: false, stream: tty.stream, env: {} }).bold('x'));
    assert.equal(tty.text(), '\u001b[1mx\u001b[0m\n');
    const noColor = capture(true);
    const quiet = createOutput({ json: false, stream: noColor.stream, env: { NO_COLOR: '' } });
    quiet.print(quiet.bold('x'));
    assert.equal(noColor.text(), 'x\n');
  });

  it("passes a build's colours to a terminal that wants them, and only the text to a file, a pipe, NO_COLOR or TERM=dumb", () => {
    const built = '\u001b[32mbuilding\u001b[0m done';
    for (const [name, tty, env, shown] of [
      ['a terminal', true, {}, built],
      ['a file or a pipe', false, {}, 'building done'],
      ['NO_COLOR', true, { NO_COLOR: '1' }, 'building done'],
      ['TERM=dumb', true, { TERM: 'dumb' }, 'building done'],
    ] as const) {
      const stream = capture(tty).stream;
      assert.equal(wantsColour(stream, env), tty && Object.keys(env).length === 0, name);
      assert.equal(createOutput({ json: false, stream, env }).terminal(built), shown, name);
      assert.equal(forTerminal(built, wantsColour(stream, env)), shown, name);
    }
  });

  it('prints JSON with --json', () => {
    const captured = capture(false);
    createOutput({ json: true, stream: captured.stream, env: {} }).result({ a: 1 }, () => 'human');
    assert.deepEqual(JSON.parse(captured.text()), { a: 1 });
  });
});

describe('log timestamps', () => {
  it('compares Docker timestamps whose fractions Docker trimmed, and turns them into `since`', () => {
    const a = timestampNanos('2026-11-23T10:00:00.12Z');
    const b = timestampNanos('2026-11-23T10:00:00.123456789Z');
    assert.ok(a < b);
    assert.equal(b - a, 3_456_789n);
    assert.equal(sinceParameter(b), `${Date.parse('2026-11-23T10:00:00Z') / 1000}.123456789`);
    assert.equal(timestampNanos('2026-11-23T10:00:00Z'), BigInt(Date.parse('2026-11-23T10:00:00Z')) * 1_000_000n);
    assert.throws(() => timestampNanos('yesterday'), /not a Docker timestamp/);
  });
});

describe('pilot logs options', () => {
  it('--since takes a time as given or a duration ago, and refuses anything else with what to give', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    assert.equal(sinceTime('10m', now), '2026-12-01T11:50:00.000Z');
    assert.equal(sinceTime('2h', now), '2026-12-01T10:00:00.000Z');
    assert.equal(sinceTime('1d', now), '2026-11-30T12:00:00.000Z');
    assert.equal(sinceTime('2026-12-01T10:00:00Z', now), '2026-12-01T10:00:00Z');
    assert.throws(() => sinceTime('yesterday', now), /--since yesterday: give a time/);
  });

  it('asks for the recent lines, the process and the start; a resume asks for what follows the latest time seen', () => {
    const request = { lines: 20, ps: 'web.1', since: '2026-12-01T10:00:00Z' };
    assert.equal(logQuery(request), 'lines=20&ps=web.1&since=2026-12-01T10%3A00%3A00Z');
    assert.equal(logQuery(request, '2026-12-01T10:00:05.000000001Z'), 'after=2026-12-01T10%3A00%3A05.000000001Z&ps=web.1');
  });
});
