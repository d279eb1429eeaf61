import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArchiveCheck, type ArchiveEntry } from '../../../src/pipeline/archive-entries.js';
import { ValidationError } from '../../../src/domain/errors.js';

const limits = { maxEntries: 10, maxBytes: 1000 };
const file = (name: string, size = 1): ArchiveEntry => ({ name, type: 'file', size });
const link = (name: string, linkname: string): ArchiveEntry => ({ name, type: 'symlink', size: 0, linkname });

function refusal(entries: readonly ArchiveEntry[], check = new ArchiveCheck(limits)): string {
  try {
    for (const entry of entries) check.admit(entry);
    check.finish();
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.message;
  }
  assert.fail('the archive was admitted');
}

describe('ArchiveCheck (what an uploaded archive may hold)', () => {
  it('admits files, directories and links inside the tree, as relative paths', () => {
    const check = new ArchiveCheck(limits);
    assert.equal(check.admit({ name: './', type: 'directory', size: 0 }), '');
    assert.equal(check.admit({ name: './src/', type: 'directory', size: 0 }), 'src');
    assert.equal(check.admit(file('./src/index.js', 10)), 'src/index.js');
    assert.equal(check.admit(link('src/current', 'index.js')), 'src/current');
    assert.equal(check.admit(link('lib/up', '../src/index.js')), 'lib/up');
    assert.equal(check.admit({ name: 'again.js', type: 'hardlink', size: 0, linkname: 'src/index.js' }), 'again.js');
    check.finish();
  });

  it('refuses a zip-slip entry, naming it', () => {
    assert.match(refusal([file('ok.txt'), file('../../etc/cron.d/evil')]), /^the entry "\.\.\/\.\.\/etc\/cron\.d\/evil" has "\.\." in its path: nothing was deployed$/);
    assert.match(refusal([file('a/../../b')]), /"a\/\.\.\/\.\.\/b" has "\.\."/);
  });

  it('refuses absolute paths and drive letters', () => {
    assert.match(refusal([file('/etc/passwd')]), /the entry "\/etc\/passwd" has an absolute path/);
    assert.match(refusal([file('C:/Windows/evil.dll')]), /"C:\/Windows\/evil\.dll" has an absolute path/);
  });

  it('refuses symlinks that point outside, directly or absolutely', () => {
    assert.match(refusal([link('escape', '../../etc/passwd')]), /the symlink "escape" points outside the archive \(to "\.\.\/\.\.\/etc\/passwd"\)/);
    assert.match(refusal([link('src/escape', '../..')]), /the symlink "src\/escape" points outside/);
    assert.match(refusal([link('root', '/')]), /the symlink "root" points outside the archive \(to "\/"\)/);
  });

  it('refuses a symlink that leaves the tree through another symlink, whatever their order', () => {
    // `here` is the root: `here/../outside` is inside by its letters, outside once `here` is followed.
    assert.match(refusal([link('sneak', 'here/../outside'), link('here', '.')]), /the symlink "sneak" points outside the archive .*through another link/);
    assert.match(refusal([link('a', 'b'), link('b', 'a')]), /points outside/, 'a loop is refused, not followed forever');
  });

  it('refuses entries and hard link targets beneath a symlink (unpacking would write through it)', () => {
    assert.match(refusal([link('up', 'lib'), file('up/x.js')]), /^the entry "up\/x\.js" is beneath the symlink "up": nothing was deployed$/);
    assert.match(
      refusal([link('a', '.'), link('b', 'a/a/a/../..'), { name: 'h', type: 'hardlink', size: 0, linkname: 'b/etc/passwd' }]),
      /the hard link "h" \(to "b\/etc\/passwd"\) is beneath the symlink "b"/,
    );
  });

  it('refuses hard links to paths outside the tree', () => {
    assert.match(refusal([{ name: 'copy', type: 'hardlink', size: 0, linkname: '../../etc/shadow' }]), /the hard link "copy" \(to "\.\.\/\.\.\/etc\/shadow"\) has "\.\."/);
    assert.match(refusal([{ name: 'copy', type: 'hardlink', size: 0, linkname: '/etc/shadow' }]), /has an absolute path/);
  });

  it('refuses device files, FIFOs and sockets, naming the entry and its type', () => {
    assert.match(refusal([{ name: 'dev/sda', type: 'block-device', size: 0 }]), /the entry "dev\/sda" is a block device: an archive may hold only files, directories and links inside it/);
    assert.match(refusal([{ name: 'null', type: 'character-device', size: 0 }]), /"null" is a character device/);
    assert.match(refusal([{ name: 'pipe', type: 'fifo', size: 0 }]), /"pipe" is a fifo/);
  });

  it('refuses more entries than the bound', () => {
    const entries = Array.from({ length: 11 }, (_, index) => file(`f${index}`));
    assert.match(refusal(entries), /^the archive holds more than 10 entries: nothing was deployed$/);
    const check = new ArchiveCheck(limits);
    for (const entry of entries.slice(0, 10)) check.admit(entry);
  });

  it('refuses an archive whose files unpack to more than the size limit, naming where it was reached', () => {
    const check = new ArchiveCheck({ maxEntries: 10, maxBytes: 3 * 1024 * 1024 });
    assert.match(refusal([file('a', 2 * 1024 * 1024), file('b', 2 * 1024 * 1024)], check), /the archive unpacks to more than 3 MB \(PILOT_MAX_PUSH_MB\), reached at "b"/);
  });

  it('shows control characters in names as ? (the message stays one line)', () => {
    assert.match(refusal([file('/x\nforged line')]), /the entry "\/x\?forged line" has an absolute path/);
  });
});
