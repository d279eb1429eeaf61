import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ensureReloadsKeepConnections } from '../../../src/adapters/caddy/reuseport.js';

function sysctlFile(content: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-sysctl-'));
  const file = path.join(dir, 'tcp_migrate_req');
  if (content !== undefined) fs.writeFileSync(file, content);
  return file;
}

function recordingLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const chunks: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (chunk: string) => void chunks.push(chunk) });
  return { logger, lines: () => chunks.map((chunk) => JSON.parse(chunk) as { level: number; msg: string }) };
}

describe('ensureReloadsKeepConnections', () => {
  it('turns net.ipv4.tcp_migrate_req on and says so', () => {
    const file = sysctlFile('0\n');
    const { logger, lines } = recordingLogger();
    assert.equal(ensureReloadsKeepConnections(logger, file), 'set');
    assert.equal(fs.readFileSync(file, 'utf8'), '1');
    assert.match(lines()[0]?.msg ?? '', /tcp_migrate_req=1/);
  });

  it('leaves it alone when it is already on', () => {
    const file = sysctlFile('1\n');
    const { logger, lines } = recordingLogger();
    assert.equal(ensureReloadsKeepConnections(logger, file), 'enabled');
    assert.equal(lines().length, 0);
  });

  it('warns when the kernel lacks it', () => {
    const { logger, lines } = recordingLogger();
    assert.equal(ensureReloadsKeepConnections(logger, sysctlFile(undefined)), 'unavailable');
    assert.equal(lines()[0]?.level, 40);
    assert.match(lines()[0]?.msg ?? '', /Linux 5\.14/);
  });
});
