import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const INSTALL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'install.sh');

function install(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('install.sh options (no machine changed)', () => {
  it('--help lists every option with its environment variable', () => {
    const { code, output } = install(['--help']);
    assert.equal(code, 0);
    for (const option of ['--domain', '--email', '--source', '--dry-run', '--uninstall', '--purge']) assert.match(output, new RegExp(option));
    for (const variable of ['PILOT_DOMAIN', 'PILOT_ACME_EMAIL', 'PILOT_SOURCE', 'PILOT_DRY_RUN=1', 'PILOT_UNINSTALL=1']) assert.match(output, new RegExp(variable));
  });

  it('refuses unknown options and bad values, saying which', () => {
    assert.match(install(['--frobnicate']).output, /unknown option: --frobnicate/);
    assert.match(install(['--tls', 'maybe']).output, /--tls must be acme, internal or off/);
    assert.match(install(['--port', 'eighty']).output, /'eighty' is not a number/);
    assert.match(install(['--domain', 'a b']).output, /is not a host name/);
    assert.equal(install(['--frobnicate']).code, 1);
  });

  it('--dry-run prints each step and what it would run, and writes nothing', { skip: process.getuid?.() !== 0 ? 'needs root, as install.sh does' : false }, () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-dry-'));
    const prefix = path.join(root, 'opt');
    const { code, output } = install(['--dry-run', '--prefix', prefix, '--data-dir', path.join(root, 'data'), '--config-dir', path.join(root, 'etc'), '--http-port', '1', '--https-port', '2'], {
      PILOT_DOMAIN: 'example.com',
    });
    assert.equal(code, 0, output);
    assert.match(output, /==> dry run: nothing will be changed/);
    assert.match(output, /==> checks\n/);
    assert.match(output, /would run: .*npm-cli\.js ci|would run: .* ci --no-audit/);
    assert.match(output, /would set PILOT_DOMAIN in .*pilot\.env/);
    assert.match(output, /==> dry run done/);
    assert.deepEqual(fs.readdirSync(root), [], 'nothing was written');
    fs.rmSync(root, { recursive: true, force: true });
  });
});
