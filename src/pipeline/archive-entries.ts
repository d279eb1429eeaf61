import path from 'node:path/posix';
import { ValidationError } from '../domain/errors.js';

/** An entry of an uploaded archive (tar or zip), as the archive declares it. */
export interface ArchiveEntry {
  /** The name as stored, `/`-separated. */
  readonly name: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'character-device' | 'block-device' | 'fifo' | 'socket' | 'other';
  /** Bytes of a file's content. */
  readonly size: number;
  /** A symlink's target, or the archive path a hardlink repeats. */
  readonly linkname?: string;
  /** A file with an execute bit (a script the build or the app runs). */
  readonly executable?: boolean;
}

export interface ArchiveLimits {
  readonly maxEntries: number;
  /** Bytes of the files once unpacked (PILOT_MAX_PUSH_BYTES). */
  readonly maxBytes: number;
}

/** Symlinks followed while resolving one path before it counts as a loop. */
const MAX_LINK_HOPS = 40;

/**
 * Checks an archive's entries one by one (`admit`), then its links together (`finish`): only
 * files, directories and links inside the tree, under the entry and size bounds. Every refusal
 * is a ValidationError naming the entry; the archive is read through before anything unpacks.
 */
export class ArchiveCheck {
  private entries = 0;
  private bytes = 0;
  /** Normalized symlink path → its target, for resolving links through links. */
  private readonly symlinks = new Map<string, string>();

  constructor(private readonly limits: ArchiveLimits) {}

  /** The entry's path inside the tree ('' for the root itself), or a ValidationError. */
  admit(entry: ArchiveEntry): string {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw refused(`the archive holds more than ${this.limits.maxEntries.toLocaleString('en')} entries`);
    }
    const name = treePath(entry.name, `the entry "${printable(entry.name)}"`);
    this.refuseBeneathSymlink(name, `the entry "${printable(entry.name)}"`);
    if (entry.type === 'file') {
      this.bytes += entry.size;
      if (this.bytes > this.limits.maxBytes) {
        throw refused(`the archive unpacks to more than ${megabytes(this.limits.maxBytes)} MB (PILOT_MAX_PUSH_MB), reached at "${printable(entry.name)}"`);
      }
    } else if (entry.type === 'symlink') {
      const target = entry.linkname ?? '';
      if (target === '' || path.isAbsolute(target) || escapes(path.join(path.dirname(name), target))) {
        throw refused(`the symlink "${printable(entry.name)}" points outside the archive (to "${printable(target)}")`);
      }
      this.symlinks.set(name, target);
    } else if (entry.type === 'hardlink') {
      const what = `the hard link "${printable(entry.name)}" (to "${printable(entry.linkname ?? '')}")`;
      this.refuseBeneathSymlink(treePath(entry.linkname ?? '', what), what);
    } else if (entry.type !== 'directory') {
      throw refused(`the entry "${printable(entry.name)}" is a ${entry.type.replace('-', ' ')}: an archive may hold only files, directories and links inside it`);
    }
    return name;
  }

  /**
   * Unpacking writes through symlinks: an entry (or a hard link's target) beneath one could land
   * wherever a link leads once links are followed, so none may be, whatever the link's target.
   */
  private refuseBeneathSymlink(name: string, what: string): void {
    const parts = name.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const ancestor = parts.slice(0, depth).join('/');
      if (this.symlinks.has(ancestor)) throw refused(`${what} is beneath the symlink "${printable(ancestor)}"`);
    }
  }

  /** Once every entry was admitted: no symlink may leave the tree through another one. */
  finish(): void {
    for (const [link, target] of this.symlinks) {
      // Not path.join: it would resolve `..` by letters, before the links on the way are followed.
      if (this.resolvesOutside(`${path.dirname(link)}/${target}`)) {
        throw refused(`the symlink "${printable(link)}" points outside the archive (to "${printable(target)}", through another link)`);
      }
    }
  }

  /** Resolves a path of the tree as the filesystem would, following the archive's symlinks. */
  private resolvesOutside(start: string): boolean {
    const pending = start.split('/').filter((part) => part !== '' && part !== '.');
    const resolved: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '..') {
        if (resolved.length === 0) return true;
        resolved.pop();
        continue;
      }
      resolved.push(part);
      const target = this.symlinks.get(resolved.join('/'));
      if (target === undefined) continue;
      hops += 1;
      if (hops > MAX_LINK_HOPS) return true;
      resolved.pop();
      pending.unshift(...target.split('/').filter((piece) => piece !== '' && piece !== '.'));
    }
    return false;
  }
}

/** A name as a relative path inside the tree, or refused (absolute, `..`, NUL, a drive letter). */
function treePath(name: string, what: string): string {
  if (name.includes('\0')) throw refused(`${what} has a NUL byte in its name`);
  if (path.isAbsolute(name) || /^[A-Za-z]:/.test(name)) throw refused(`${what} has an absolute path`);
  if (name.split('/').includes('..')) throw refused(`${what} has ".." in its path`);
  const normalized = path.normalize(name).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

function escapes(normalizedJoin: string): boolean {
  return normalizedJoin === '..' || normalizedJoin.startsWith('../');
}

function refused(reason: string): ValidationError {
  return new ValidationError(`${reason}: nothing was deployed`);
}

/** Control characters in a name would garble the message. */
function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, '?');
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
