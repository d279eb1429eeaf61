import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createConfigStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import { createPreviewStore } from '../../../src/adapters/db/preview-store.js';
import { PreviewService } from '../../../src/services/previews.js';
import { Readable } from 'node:stream';
import type { App } from '../../../src/domain/types.js';
import type { PushRequest } from '../../../src/pipeline/deploy.js';
import { previewPushes } from '../../../src/services/preview-pushes.js';
import { SOMEONE } from '../../helpers/releases.js';

function setup(t: { after(fn: () => void): void }) {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const apps = createAppStore(db);
  const configVars = createConfigStore(db);
  const previews = createPreviewStore(db);
  const destroyed: string[] = [];
  const service = new PreviewService({
    apps, previews, configVars, releases: createReleaseStore(db),
    destroyApp: async (app) => {
      destroyed.push(app.name);
      apps.delete(app.id);
      return { containers: 1, images: 1, volumes: 0 };
    },
    maxNameLength: 63,
    appUrl: (name) => `https://${name}.pilot.test`,
  });
  const parent = apps.create('shop');
  configVars.replace(parent.id, { DATABASE_URL: 'postgres://prod', GREETING: 'hi', API_URL: 'https://api' }, ['API_URL']);
  apps.setLimits(parent.id, { memoryBytes: 256 * 1024 * 1024, cpus: 0.5 });
  apps.setBuildDir(parent.id, 'apps/web');
  const lines: string[] = [];
  const deployed: string[] = [];
  const push = (branch: string, live = true) =>
    service.branchPushed(apps.findByName('shop') as App, branch, {
      deployBranch: 'main',
      deploy: async (preview) => {
        deployed.push(preview.name);
        return live;
      },
    }, (line) => lines.push(line));
  return { apps, configVars, previews, service, parent, push, lines, deployed, destroyed };
}

describe('PreviewService', () => {
  it("deploys a matching branch into <app>--<slug> with the app's config, overrides, limits and build dir", async (t) => {
    const { service, parent, push, apps, configVars, deployed, lines } = setup(t);
    service.configure(parent, { enabled: true, pattern: 'preview/*', maxPreviews: 2 });
    service.changeConfig(parent, { set: { DATABASE_URL: 'postgres://staging', BANNER: 'preview' } });
    assert.equal(await push('preview/login'), true);
    assert.deepEqual(deployed, ['shop--preview-login']);
    const preview = apps.findByName('shop--preview-login') as App;
    assert.deepEqual(configVars.get(preview.id), { API_URL: 'https://api', BANNER: 'preview', DATABASE_URL: 'postgres://staging', GREETING: 'hi' });
    assert.deepEqual(configVars.buildKeys(preview.id), ['API_URL']);
    assert.equal(preview.memoryBytes, 256 * 1024 * 1024);
    assert.equal(preview.cpus, 0.5);
    assert.equal(preview.buildDir, 'apps/web');
    assert.match(lines.join('\n'), /Creating the preview shop--preview-login of shop from preview\/login/);
    const listed = service.list(parent);
    assert.deepEqual(listed.previews.map((entry) => [entry.branch, entry.app, entry.url, entry.release]), [['preview/login', 'shop--preview-login', 'https://shop--preview-login.pilot.test', null]]);
    assert.deepEqual(listed.overrideKeys, ['BANNER', 'DATABASE_URL']);
    assert.equal(service.parentId('shop--preview-login'), parent.id);
    assert.equal(service.parentId('shop'), undefined);
  });

  it('redeploys the same preview when its branch is pushed again, with the config as it is then', async (t) => {
    const { service, parent, push, apps, configVars, deployed } = setup(t);
    service.configure(parent, { enabled: true });
    await push('preview/x');
    service.changeConfig(parent, { set: { GREETING: 'preview hello' } });
    await push('preview/x');
    assert.deepEqual(deployed, ['shop--preview-x', 'shop--preview-x']);
    assert.equal(configVars.get((apps.findByName('shop--preview-x') as App).id).GREETING, 'preview hello');
    assert.equal(service.list(parent).previews.length, 1);
  });

  it('refuses one preview too many and creates nothing', async (t) => {
    const { service, parent, push, apps, deployed, lines } = setup(t);
    service.configure(parent, { enabled: true, maxPreviews: 1 });
    await push('preview/a');
    assert.equal(await push('preview/b'), false);
    assert.deepEqual(deployed, ['shop--preview-a']);
    assert.equal(apps.findByName('shop--preview-b'), undefined);
    assert.match(lines.join('\n'), / ! {5}shop has 1 preview, its limit: nothing was deployed and preview\/b was not pushed/);
  });

  it('leaves other branches alone, and every branch when previews are off', async (t) => {
    const { service, parent, push, deployed, lines } = setup(t);
    assert.equal(await push('preview/a'), true);
    service.configure(parent, { enabled: true, pattern: 'preview/*' });
    assert.equal(await push('feature/a'), true);
    assert.deepEqual(deployed, []);
    assert.match(lines.join('\n'), /Pushed preview\/a: only main deploys, nothing was deployed \(previews are off\)/);
    assert.match(lines.join('\n'), /Pushed feature\/a: only main deploys, nothing was deployed \(branches matching preview\/\* deploy previews\)/);
  });

  it('with every branch enabled, never takes the deploy branch', async (t) => {
    const { service, parent, push, deployed } = setup(t);
    service.configure(parent, { enabled: true, pattern: null });
    await push('main');
    await push('fix/typo');
    assert.deepEqual(deployed, ['shop--fix-typo']);
  });

  it('removes a preview whose first deploy failed, so no branch-less preview stays', async (t) => {
    const { service, parent, push, apps, destroyed, lines } = setup(t);
    service.configure(parent, { enabled: true });
    assert.equal(await push('preview/broken', false), false);
    assert.deepEqual(destroyed, ['shop--preview-broken']);
    assert.equal(apps.findByName('shop--preview-broken'), undefined);
    assert.match(lines.join('\n'), /the preview shop--preview-broken was removed again: nothing was created/);
  });

  it("keeps an existing preview's config and settings when its redeploy fails: its live release runs on", async (t) => {
    const { service, parent, push, apps, configVars, destroyed } = setup(t);
    service.configure(parent, { enabled: true });
    await push('preview/x');
    const preview = apps.findByName('shop--preview-x') as App;
    const deployedWith = configVars.get(preview.id);
    service.changeConfig(parent, { set: { GREETING: 'changed' } });
    apps.setBuildDir(parent.id, 'apps/other');
    assert.equal(await push('preview/x', false), false);
    assert.deepEqual(configVars.get(preview.id), deployedWith);
    assert.equal((apps.findByName('shop--preview-x') as App).buildDir, 'apps/web');
    assert.deepEqual(destroyed, [], 'an existing preview stays');
  });

  it('destroys the preview of a deleted branch, and says so when there is none', async (t) => {
    const { service, parent, push, destroyed, lines } = setup(t);
    service.configure(parent, { enabled: true });
    await push('preview/x');
    assert.equal(await service.branchDeleted(parent, 'preview/x', (line) => lines.push(line)), true);
    assert.equal(await service.branchDeleted(parent, 'preview/other', (line) => lines.push(line)), true);
    assert.deepEqual(destroyed, ['shop--preview-x']);
    assert.deepEqual(service.list(parent).previews, []);
    assert.match(lines.join('\n'), /Destroying the preview shop--preview-x of preview\/x/);
    assert.match(lines.join('\n'), /Deleted preview\/other: shop has no preview of it, nothing to destroy/);
    await assert.rejects(service.destroy(parent, 'preview/x'), /shop has no preview of preview\/x/);
  });

  it('refuses bad settings and overrides, changing nothing', async (t) => {
    const { service, parent, push, apps } = setup(t);
    assert.throws(() => service.configure(parent, { enabled: true, pattern: 'refs/heads/*' }), /invalid preview pattern/);
    assert.throws(() => service.changeConfig(parent, { set: { 'BAD-KEY': 'x' } }), /invalid config var name/);
    assert.throws(() => service.changeConfig(parent, { set: { A: '1' }, unset: ['A'] }), /A both set and unset/);
    assert.equal(service.list(parent).enabled, false);
    assert.deepEqual(service.config(parent).config, {});
    service.configure(parent, { enabled: true });
    await push('preview/x');
    assert.throws(() => service.configure(apps.findByName('shop--preview-x') as App, { enabled: true }), /shop--preview-x is a preview: previews of previews are not made/);
  });
});

describe('previewPushes (what the git hook asks)', () => {
  it('judges, deploys the push into its preview under the preview name, and refuses what cannot be', async (t) => {
    const { service, parent, apps } = setup(t);
    service.configure(parent, { enabled: true });
    const pushes: PushRequest[] = [];
    const branches = previewPushes({ apps, previews: service, deployPush: async (push) => (pushes.push(push), true) });
    assert.deepEqual(branches.judge('shop', 'preview/x', 'main', []), { action: 'deploy' });
    assert.equal(branches.judge('shop', 'feature', 'main', []).action, 'skip');
    assert.deepEqual(branches.judge('nope', 'preview/x', 'main', []), { action: 'refuse', reason: 'no app named "nope": nothing was deployed' });
    const long = apps.create('a'.repeat(58));
    service.configure(long, { enabled: true });
    assert.match(branches.judge(long.name, 'preview/x', 'main', []).reason ?? '', /too long for previews: .*: nothing was deployed$/);

    const source = Readable.from([]);
    assert.equal(await branches.pushed({ app: 'shop', branch: 'preview/x', oldSha: '0'.repeat(40), newSha: 'b'.repeat(40), source, madeBy: SOMEONE }, 'main', () => undefined), true);
    assert.deepEqual(pushes.map((push) => [push.app, push.into, push.branch]), [['shop', 'shop--preview-x', 'preview/x']]);
    assert.equal(await branches.deleted('shop', 'preview/x', () => undefined), true);
    assert.equal(apps.findByName('shop--preview-x'), undefined);
  });
});

describe('PreviewService while its app is destroyed', () => {
  it('creates no preview for a push that began before its app was destroyed', async (t) => {
    const { service, parent, apps, previews } = setup(t);
    service.configure(parent, { enabled: true, pattern: 'preview/*', maxPreviews: 2 });
    const stale = apps.findByName('shop') as App;
    apps.delete(parent.id);
    const deployed: string[] = [];
    await service.branchPushed(stale, 'preview/login', { deployBranch: 'main', deploy: async (preview) => (deployed.push(preview.name), true) }, () => undefined);
    assert.deepEqual(deployed, []);
    assert.equal(apps.findByName('shop--preview-login'), undefined);
    assert.deepEqual(previews.list(parent.id), []);
  });
});
