import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sourceFiles } from '../../../src/cli/pack.js';

function directory(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-pack-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, stdio: 'ignore' });

describe('pilot deploy DIR: the files it sends', () => {
  it('outside git: every file but .git and what .gitignore and .pilotignore leave out', (t) => {
    const dir = directory(t, {
      'index.js': '', 'src/app.js': '', '.env': 'SECRET=1', 'node_modules/x/index.js': '', 'dist/out.js': '', 'notes/todo.md': '', 'keep.log': '',
      '.gitignore': 'node_modules/\n.env\n*.log\n!keep.log\n', '.pilotignore': 'notes/\ndist\n',
    });
    assert.deepEqual(sourceFiles(dir), ['.gitignore', '.pilotignore', 'index.js', 'keep.log', 'src/app.js']);
  });

  it("in a git checkout: the tracked files only, as a push would send them", (t) => {
    const dir = directory(t, { 'index.js': '', 'lib/a.js': '', '.gitignore': 'build/\n' });
    git(dir, 'init', '-q');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'first');
    fs.writeFileSync(path.join(dir, 'untracked.js'), '');
    fs.mkdirSync(path.join(dir, 'build'));
    fs.writeFileSync(path.join(dir, 'build', 'out.js'), '');
    fs.rmSync(path.join(dir, 'lib', 'a.js'));
    assert.deepEqual(sourceFiles(dir), ['.gitignore', 'index.js']);
  });
});
