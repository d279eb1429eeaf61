import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
