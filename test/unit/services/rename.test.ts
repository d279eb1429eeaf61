import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCore, type Core } from '../../helpers/core.js';
import { AppService } from '../../../src/services/apps.js';
import { AppRegistry } from '../../../src/services/app-registry.js';
import { createPreviewStore } from '../../../src/adapters/db/preview-store.js';
import { appNameMaxLength } from '../../../src/domain/app-name.js';
import { ConflictError, ValidationError } from '../../../src/domain/errors.js';
import type { App } from '../../../src/domain/types.js';

/** The app service over the core's fakes, with repositories kept as names. */
function renameable(core: Core) {
  const repositories = new Set<string>();
  const service = new AppService({
    ...core,
    images: core.images,
    repositories: {
      exists: (app) => repositories.has(app),
      create: async (app) => void repositories.add(app),
      remove: (app) => void repositories.delete(app),
      rename: (from, to) => {
        if (!repositories.delete(from)) throw new Error(`no repository ${from}`);
        repositories.add(to);
      },
    },
    instance: 'pt',
    maxNameLength: appNameMaxLength(core.settings.domain),
    appUrl: (name) => `http://${name}.${core.settings.domain}`,
    onDestroy: () => undefined,
    previews: createPreviewStore(core.db),
  });
  return { service, repositories };
}

/** The last Caddyfile loaded. */
function loadedSites(core: Core): string {
  return core.persisted.at(-1) ?? '';
}

async function deployed(core: Core, name: string): Promise<{ app: App; service: AppService; repositories: Set<string> }> {
  const { service, repositories } = renameable(core);
  const app = await service.create(name);
  const pushed = await core.push(name);
  assert.equal(pushed.live, true, pushed.output);
  return { app, service, repositories };
}

describe('renaming an app (AppService.rename over the core with fakes)', () => {
  it('starts the live release under the new name, moves the routes with the custom domains in one switch, retires the old processes; the rest stays', async () => {
    const core = buildCore();
    const { app, service, repositories } = await deployed(core, 'shop');
    core.configVars.replace(app.id, { GREETING: 'hi' }, []);
    core.domains.add(app.id, 'www.shop.example');
    await core.routes.reload();
    const loadsBefore = core.persisted.length;

    const renamed = await service.rename(app, 'store');
    await core.rollout.settle();

    assert.equal(renamed.id, app.id);
    assert.equal(core.apps.findByName('shop'), undefined);
    assert.equal(core.apps.findByName('store')?.id, app.id);
    assert.deepEqual(core.configVars.get(app.id), { GREETING: 'hi' });
    assert.deepEqual(core.domains.listForApp(app.id), ['www.shop.example']);
    assert.deepEqual([...repositories], ['store']);
    // Blue/green: the new identity runs, the old one is gone once drained.
    assert.deepEqual((await core.runtime.list({ app: 'shop' })).length, 0);
    assert.deepEqual((await core.runtime.list({ app: 'store' })).map((process) => `${process.identity.type}.${process.identity.index} ${process.identity.slot}`), ['web.1 green']);
    // One load took the new name and the custom domain to the new processes together.
    const switched = core.persisted.slice(loadsBefore).find((caddyfile) => caddyfile.includes('store.pilot.test')) ?? '';
    assert.match(switched, /^http:\/\/store\.pilot\.test, http:\/\/www\.shop\.example \{$/m);
    // The old name answers a 404 page from that same load on (over HTTPS too: it stays one of the file's names).
    assert.match(switched, /# app shop\nhttp:\/\/shop\.pilot\.test \{[^}]*No app named shop any more[^}]*" 404\n\}/);
    assert.equal(core.apps.renamedTo('shop'), 'store');
    // The release keeps its version, now running its image under the new name.
    const live = core.releases.live(app.id);
    assert.equal(live?.version, 1);
    assert.equal(live?.image, 'pt/store:v1');
    assert.deepEqual(core.wentLive.at(-1), 'store');
  });

  it("keeps links both ways: apps linked to it join the new name's network, its own links start with its new processes", async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    const api = await service.create('backend');
    const front = await service.create('front');
    core.apps.link(front.id, app.id);
    core.apps.link(app.id, api.id);
    await service.rename(app, 'store');
    await core.rollout.settle();
    assert.ok(core.runtime.links.has('front -> store'), [...core.runtime.links].join(', '));
    const [started] = await core.runtime.list({ app: 'store' });
    assert.ok(started);
    assert.deepEqual(core.runtime.startedWith(started.id)?.linkedNetworks, ['pt-backend-net']);
    assert.deepEqual(core.apps.linkedFrom(app.id), ['front']);
  });

  it('refuses an invalid, reserved or taken name and a rename to itself, changing nothing', async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    await service.create('taken');
    await assert.rejects(service.rename(app, 'Bad_Name'), (error) => error instanceof ValidationError && /invalid app name "Bad_Name"/.test(error.message));
    await assert.rejects(service.rename(app, 'pilot'), (error) => error instanceof ValidationError && /reserved/.test(error.message));
    await assert.rejects(service.rename(app, 'taken'), (error) => error instanceof ConflictError && /an app named "taken" exists already/.test(error.message));
    await assert.rejects(service.rename(app, 'shop'), (error) => error instanceof ValidationError && /already called shop/.test(error.message));
    assert.equal(core.apps.findByName('shop')?.id, app.id);
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
  });

  it('refuses to rename a preview, or an app that has previews (named after it), changing nothing', async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    const preview = await service.create('shop-preview');
    createPreviewStore(core.db).add({ appId: preview.id, parentId: app.id, branch: 'preview/x' });
    await assert.rejects(service.rename(preview, 'other'), (error) => error instanceof ValidationError && /is a preview/.test(error.message));
    await assert.rejects(service.rename(app, 'store'), (error) => error instanceof ConflictError && /has previews \(shop-preview\).*previews:destroy/.test(error.message));
    assert.deepEqual([core.apps.findByName('shop')?.id, core.apps.findByName('store')], [app.id, undefined]);
  });

  it('a new app that takes the old name during the drain keeps its processes and images: the clean-up of the old name leaves them', async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    await service.rename(app, 'store');
    // The rename's clean-up of the old name waits for the drain; a new shop is created and pushed meanwhile.
    const newShop = await deployed(core, 'shop');
    await core.rollout.settle();
    assert.notEqual(newShop.app.id, app.id);
    assert.deepEqual((await core.runtime.list({ app: 'shop' })).map((process) => `${process.identity.type}.${process.identity.index}`), ['web.1']);
    assert.deepEqual((await core.runtime.list({ app: 'store' })).length, 1);
    assert.equal(core.images.removed.filter((image) => image.startsWith('pt/shop:')).length, 0, `removed: ${core.images.removed.join(', ')}`);
  });

  it('refuses while the app deploys, saying what to wait for', async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    let release!: () => void;
    const held = core.deployer.withAppLock('shop', () => new Promise<void>((resolve) => (release = resolve)));
    await assert.rejects(service.rename(app, 'store'), (error) => error instanceof ConflictError && /shop is deploying.*rename it once that is done/.test(error.message));
    release();
    await held;
    assert.equal(core.apps.findByName('shop')?.id, app.id);
  });

  it('a new process that fails its check changes nothing: the app serves on under its old name', async () => {
    const core = buildCore();
    const { app, service, repositories } = await deployed(core, 'shop');
    const before = loadedSites(core);
    core.runtime.checks.set('web.1', 'exits');
    await assert.rejects(service.rename(app, 'store'), /renaming shop to store failed: .*; shop still serves under its name/);
    await core.rollout.settle();
    assert.equal(core.apps.findByName('shop')?.id, app.id);
    assert.deepEqual([...repositories], ['shop']);
    assert.equal(core.releases.live(app.id)?.image, 'pt/shop:v1');
    assert.deepEqual(core.runtime.running(), ['v1 web.1 blue']);
    assert.equal(loadedSites(core), before);
  });

  it('an app that never went live is renamed at once', async () => {
    const core = buildCore();
    const { service, repositories } = renameable(core);
    const app = await service.create('draft');
    const renamed = await service.rename(app, 'final');
    assert.equal(renamed.name, 'final');
    assert.equal(core.apps.findByName('final')?.id, app.id);
    assert.deepEqual([...repositories], ['final']);
  });

  it("refuses a push to the old name with the new one, until apps:create takes the name for a new app", async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    await service.rename(app, 'store');
    const registry = new AppRegistry(core.apps, { exists: () => true, create: async () => undefined }, 63);
    await assert.rejects(registry.findOrCreate('shop'), (error) => error instanceof ConflictError && /shop was renamed to store: point your remote at it \(pilot git:remote -a store\)/.test(error.message));
    assert.throws(() => service.get('shop'), /no app named "shop": it was renamed to store/);
    const again = await service.create('shop');
    assert.notEqual(again.id, app.id);
    assert.equal(core.apps.renamedTo('shop'), undefined);
    assert.equal((await registry.findOrCreate('shop')).id, again.id);
  });

  it('a push that waited behind the rename is refused with the way to the new remote', async () => {
    const core = buildCore();
    const { app, service } = await deployed(core, 'shop');
    const renaming = service.rename(app, 'store');
    const pushed = await core.push('shop', 'c'.repeat(40));
    await renaming;
    assert.equal(pushed.live, false);
    assert.match(pushed.output, /shop was renamed or destroyed while this deploy waited: push to its new remote/);
  });
});
