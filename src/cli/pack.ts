import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import ignore from 'ignore';
import tarFs from 'tar-fs';
import { CliError } from './errors.js';

/** Ignore files read at the directory's root when it is not a git checkout. */
const IGNORE_FILES = ['.gitignore', '.pilotignore'];

/**
 * The files `pilot deploy DIR` sends, relative to DIR with `/`: in a git checkout the tracked
 * ones (`git ls-files`, as a push would send them), else every file but `.git/` and what
 * `.gitignore` and `.pilotignore` at its root leave out.
 */
export function sourceFiles(dir: string): string[] {
  const tracked = gitTrackedFiles(dir);
  if (tracked) {
    // A file deleted but not yet committed is not there to send; a submodule's gitlink is a directory.
    return tracked.filter((file) => fs.lstatSync(path.join(dir, file), { throwIfNoEntry: false })?.isDirectory() === false);
  }
  const rules = ignore().add('.git/');
  for (const name of IGNORE_FILES) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) rules.add(fs.readFileSync(file, 'utf8'));
  }
  const files: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!rules.ignores(`${name}/`)) walk(name);
      } else if (!rules.ignores(name)) {
        files.push(name);
      }
    }
  };
  walk('');
  return files.sort();
}

function gitTrackedFiles(dir: string): string[] | undefined {
  try {
    execFileSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 }).toString();
  return listed.split('\0').filter((file) => file !== '');
}

/** Writes DIR's source files (sourceFiles) as a .tar.gz to `file`; resolves with how many there were. */
export async function packDirectory(dir: string, file: string): Promise<number> {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`${dir} is not a directory`);
  const files = sourceFiles(dir);
  if (files.length === 0) throw new CliError(`${dir} has no files to deploy (all of them are ignored?)`);
  await pipeline(tarFs.pack(dir, { entries: files }), zlib.createGzip(), fs.createWriteStream(file, { mode: 0o600 }));
  return files.length;
}
