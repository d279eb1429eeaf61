import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import tarFs from 'tar-fs';
import { createWorkspaces } from '../../../src/adapters/workspace.js';
import { ValidationError } from '../../../src/domain/errors.js';

function tree(t: { after(fn: () => void): void }, files: Record<string, string>): { root: string; buildDir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-workspace-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const buildDir = path.join(root, 'build-1');
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(buildDir, 'app', file)), { recursive: true });
    fs.writeFileSync(path.join(buildDir, 'app', file), content);
  }
  return { root, buildDir };
}

describe('Workspaces.facts', () => {
  it('lists every file of the tree but .git and node_modules, and reads the files asked for', async (t) => {
    const { root, buildDir } = tree(t, {
      'package.json': '{"name":"root"}', 'apps/web/package.json': '{"name":"web"}', 'apps/web/src/index.js': 'x',
      '.yarn/releases/yarn-4.5.0.cjs': 'y', '.git/HEAD': 'ref', 'node_modules/a/package.json': '{}', 'apps/web/node_modules/b/index.js': '',
    });
    const facts = await createWorkspaces(root, path.join(root, 'caches')).facts(buildDir, (file) => file.endsWith('package.json'));
    assert.deepEqual([...facts.files].sort(), ['.yarn/releases/yarn-4.5.0.cjs', 'apps/web/package.json', 'apps/web/src/index.js', 'package.json']);
    assert.deepEqual(Object.fromEntries(facts.contents), { 'package.json': '{"name":"root"}', 'apps/web/package.json': '{"name":"web"}' });
  });

  it('refuses a tree with more files than the bound, saying what to do', async (t) => {
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`gen/${i}.js`, '']));
    const { root, buildDir } = tree(t, files);
    await assert.rejects(createWorkspaces(root, path.join(root, 'caches'), 5).facts(buildDir, () => false), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /the pushed tree holds more than 5 files \(node_modules and \.git not counted\): nothing was deployed; leave generated files out/);
      return true;
    });
  });
});

/** A tar of a tree built by `make` in a scratch directory, as the pushed archive. */
async function tarOf(t: { after(fn: () => void): void }, make: (dir: string) => void): Promise<Readable> {
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-tree-'));
  t.after(() => fs.rmSync(source, { recursive: true, force: true }));
  make(source);
  const archive = new PassThrough();
  tarFs.pack(source).pipe(archive);
  return archive;
}

describe('Workspaces.unpack', () => {
  const nested = 'a/b/c/d/e/f/g';

  it('refuses a link through a nested link to the root that leads out of the tree (realpath, not lexical)', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-workspace-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const archive = await tarOf(t, (dir) => {
      fs.mkdirSync(path.join(dir, nested), { recursive: true });
      fs.symlinkSync('../../../../../../..', path.join(dir, nested, 'h'));
      fs.symlinkSync(`${nested}/h/../../../etc/passwd`, path.join(dir, 'x'));
    });
    await assert.rejects(createWorkspaces(path.join(root, 'builds'), path.join(root, 'caches')).unpack(archive, 1024 ** 2), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.message, 'the symlink x points outside the repository: nothing was deployed');
      return true;
    });
    assert.deepEqual(fs.readdirSync(path.join(root, 'builds')), [], 'nothing of the push is left');
  });

  it('keeps links that stay inside, also through nested links, and dangling ones inside', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-workspace-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const archive = await tarOf(t, (dir) => {
      fs.mkdirSync(path.join(dir, nested), { recursive: true });
      fs.writeFileSync(path.join(dir, 'README'), 'x');
      fs.symlinkSync('../../../../../../..', path.join(dir, nested, 'h'));
      fs.symlinkSync(`${nested}/h/README`, path.join(dir, 'readme'));
      fs.symlinkSync('not/yet/../there', path.join(dir, 'dangling'));
    });
    const buildDir = await createWorkspaces(path.join(root, 'builds'), path.join(root, 'caches')).unpack(archive, 1024 ** 2);
    assert.equal(fs.readFileSync(path.join(buildDir, 'app', 'readme'), 'utf8'), 'x');
  });
});
