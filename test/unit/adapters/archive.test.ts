import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveAsTar, checkArchive, type ArchiveFormat } from '../../../src/adapters/archive.js';
import { createWorkspaces } from '../../../src/adapters/workspace.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { writeTarGz, writeZip, type TestEntry } from '../../helpers/archives.js';

const limits = { maxEntries: 100, maxBytes: 1024 * 1024 };

function scratch(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-archive-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function archive(dir: string, format: ArchiveFormat, entries: readonly TestEntry[]): Promise<string> {
  const file = path.join(dir, format === 'zip' ? 'upload.zip' : 'upload.tar.gz');
  await (format === 'zip' ? writeZip(file, entries) : writeTarGz(file, entries));
  return file;
}

const refusedWith = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ValidationError, String(error));
  assert.match(error.message, pattern);
  return true;
};

/** Every path under dir, relative, sorted. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((file) => file.split(path.sep).join('/')).sort();
}

describe('uploaded archives (checkArchive, archiveAsTar)', () => {
  for (const format of ['zip', 'tar.gz'] as const) {
    it(`unpacks a ${format} with files, directories and an inner symlink into the build directory`, async (t) => {
      const dir = scratch(t);
      const file = await archive(dir, format, [
        { name: 'app/', type: 'directory' },
        { name: 'app/server.js', content: 'console.log(1)' },
        { name: 'bin/start', content: '#!/bin/sh\nexec node app/server.js\n', executable: true },
        { name: 'index.html', content: '<h1>hi</h1>' },
        { name: 'current', link: 'app/server.js' },
      ]);
      await checkArchive(file, format, limits);
      const workspaces = createWorkspaces(path.join(dir, 'builds'), path.join(dir, 'caches'));
      const buildDir = await workspaces.unpack(archiveAsTar(file, format, limits), limits.maxBytes);
      assert.deepEqual(listing(path.join(buildDir, 'app')), ['app', 'app/server.js', 'bin', 'bin/start', 'current', 'index.html']);
      assert.equal(fs.statSync(path.join(buildDir, 'app', 'bin', 'start')).mode & 0o111, 0o111, 'a script stays executable');
      assert.equal(fs.statSync(path.join(buildDir, 'app', 'index.html')).mode & 0o111, 0);
      assert.equal(fs.readFileSync(path.join(buildDir, 'app', 'current'), 'utf8'), 'console.log(1)');
      assert.equal(fs.readlinkSync(path.join(buildDir, 'app', 'current')), 'app/server.js');
    });

    it(`refuses a zip-slip ${format}, naming the entry, and writes nothing anywhere`, async (t) => {
      const dir = scratch(t);
      const file = await archive(dir, format, [{ name: 'index.html', content: 'ok' }, { name: '../escaped.txt', content: 'pwned' }]);
      await assert.rejects(checkArchive(file, format, limits), refusedWith(/^the entry "\.\.\/escaped\.txt" has "\.\." in its path: nothing was deployed$/));
      // Even unpacked without the check first, the repacked tar never holds it, and the build directory goes.
      const builds = path.join(dir, 'builds');
      const workspaces = createWorkspaces(builds, path.join(dir, 'caches'));
      await assert.rejects(workspaces.unpack(archiveAsTar(file, format, limits), limits.maxBytes), refusedWith(/"\.\.\/escaped\.txt" has "\.\."/));
      assert.deepEqual(fs.readdirSync(builds), []);
      assert.equal(fs.existsSync(path.join(dir, 'escaped.txt')), false);
      assert.equal(fs.existsSync(path.join(builds, 'escaped.txt')), false);
    });

    it(`refuses an absolute path in a ${format}`, async (t) => {
      const file = await archive(scratch(t), format, [{ name: '/tmp/pilot-absolute-test', content: 'x' }]);
      await assert.rejects(checkArchive(file, format, limits), refusedWith(/the entry "\/tmp\/pilot-absolute-test" has an absolute path/));
    });

    it(`refuses a symlink pointing outside in a ${format}`, async (t) => {
      const file = await archive(scratch(t), format, [{ name: 'etc', link: '../../../etc' }]);
      await assert.rejects(checkArchive(file, format, limits), refusedWith(/the symlink "etc" points outside the archive \(to "\.\.\/\.\.\/\.\.\/etc"\)/));
    });

    it(`refuses a device file and a FIFO in a ${format}`, async (t) => {
      const dir = scratch(t);
      const device = await archive(dir, format, [{ name: 'dev/null', type: 'character-device' }]);
      await assert.rejects(checkArchive(device, format, limits), refusedWith(/the entry "dev\/null" is a character device/));
      const fifo = await archive(dir, format, [{ name: 'pipe', type: 'fifo' }]);
      await assert.rejects(checkArchive(fifo, format, limits), refusedWith(/the entry "pipe" is a fifo/));
    });

    it(`refuses a ${format} with too many entries or too many bytes unpacked`, async (t) => {
      const dir = scratch(t);
      const many = await archive(dir, format, Array.from({ length: 6 }, (_, index) => ({ name: `f${index}`, content: '' })));
      await assert.rejects(checkArchive(many, format, { maxEntries: 5, maxBytes: 1024 }), refusedWith(/the archive holds more than 5 entries/));
      const big = await archive(dir, format, [{ name: 'zeros', content: '0'.repeat(3 * 1024 * 1024) }]);
      assert.ok(fs.statSync(big).size < 64 * 1024, 'small compressed');
      await assert.rejects(checkArchive(big, format, { maxEntries: 5, maxBytes: 2 * 1024 * 1024 }), refusedWith(/the archive unpacks to more than 2 MB \(PILOT_MAX_PUSH_MB\)/));
    });
  }

  it('refuses an upload that is not the archive it claims to be', async (t) => {
    const file = path.join(scratch(t), 'upload');
    fs.writeFileSync(file, 'not an archive at all');
    await assert.rejects(checkArchive(file, 'tar.gz', limits), refusedWith(/^the upload is not a readable \.tar\.gz: .*: nothing was deployed$/));
    await assert.rejects(checkArchive(file, 'zip', limits), refusedWith(/^the upload is not a readable \.zip: .*: nothing was deployed$/));
  });
});
