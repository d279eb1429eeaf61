import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinkService } from '../../../src/services/links.js';
import { createAppStore } from '../../../src/adapters/db/stores.js';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../src/domain/errors.js';
import { KeyedMutex } from '../../../src/pipeline/mutex.js';
import type { ContainerEngine } from '../../../src/domain/ports.js';
import { DockerRuntime } from '../../../src/runtime/docker-runtime.js';

function setup(t: { after(fn: () => void): void }) {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const apps = createAppStore(db);
  for (const name of ['shop', 'billing']) apps.create(name);
  const calls: string[] = [];
  const engine = {
    ensureNetwork: async (name: string) => void calls.push(`ensure ${name}`),
    listContainers: async (labels: Record<string, string>) => (labels['pilot.app'] === 'shop' ? [{ id: 'shop-blue', labels: {} }, { id: 'shop-worker', labels: {} }] : []),
    connectNetwork: async (name: string, container: string) => void calls.push(`connect ${container} ${name}`),
    disconnectNetwork: async (name: string, container: string) => void calls.push(`disconnect ${container} ${name}`),
  } as unknown as ContainerEngine;
  const deployer = { withAppLock: <T>(_app: string, task: () => Promise<T>) => task() };
  // The real Docker runtime over a recording engine: what a link does to the containers.
  return { apps, calls, links: new LinkService({ apps, runtime: new DockerRuntime(engine, 'pt'), deployer }) };
}

describe('LinkService', () => {
  it("joins the app's containers to the linked app's network now, and records it for every later start", async (t) => {
    const { apps, calls, links } = setup(t);
    const shop = apps.findByName('shop');
    assert.ok(shop);
    assert.deepEqual(await links.link(shop, 'billing'), { links: ['billing'], linkedFrom: [] });
    assert.deepEqual(calls, ['ensure pt-billing-net', 'connect shop-blue pt-billing-net', 'connect shop-worker pt-billing-net']);
    assert.deepEqual(apps.findByName('shop')?.links, ['billing'], 'the next containers plan the network too');
    assert.deepEqual(links.list(apps.findByName('billing') as NonNullable<ReturnType<typeof apps.findByName>>), { links: [], linkedFrom: ['shop'] });
  });

  it('takes the containers off the network at unlink, and says when there was no link', async (t) => {
    const { apps, calls, links } = setup(t);
    const shop = apps.findByName('shop');
    assert.ok(shop);
    await links.link(shop, 'billing');
    calls.length = 0;
    assert.deepEqual(await links.unlink(shop, 'billing'), { links: [], linkedFrom: [] });
    assert.deepEqual(calls, ['disconnect shop-blue pt-billing-net', 'disconnect shop-worker pt-billing-net']);
    await assert.rejects(links.unlink(shop, 'billing'), (error: unknown) => error instanceof NotFoundError && /shop is not linked to billing/.test(error.message));
  });

  it('records no link when the runtime could not join the processes (a swarm service rolled back)', async (t) => {
    const db = openDatabase(':memory:');
    t.after(() => db.close());
    const apps = createAppStore(db);
    for (const name of ['shop', 'billing']) apps.create(name);
    const runtime = { link: async () => Promise.reject(new Error('pt-shop-web did not become healthy')), unlink: async () => undefined };
    const links = new LinkService({ apps, runtime, deployer: { withAppLock: <T>(_app: string, task: () => Promise<T>) => task() } });
    await assert.rejects(links.link(apps.findByName('shop') as NonNullable<ReturnType<typeof apps.findByName>>, 'billing'), /did not become healthy/);
    assert.deepEqual(apps.findByName('shop')?.links, []);
  });

  it('keeps the link when the runtime could not take the processes off the network, so unlink can be tried again', async (t) => {
    const db = openDatabase(':memory:');
    t.after(() => db.close());
    const apps = createAppStore(db);
    for (const name of ['shop', 'billing']) apps.create(name);
    let failing = true;
    const runtime = { link: async () => undefined, unlink: async () => (failing ? Promise.reject(new Error('pt-shop-web did not become healthy')) : undefined) };
    const links = new LinkService({ apps, runtime, deployer: { withAppLock: <T>(_app: string, task: () => Promise<T>) => task() } });
    const shop = () => apps.findByName('shop') as NonNullable<ReturnType<typeof apps.findByName>>;
    await links.link(shop(), 'billing');
    await assert.rejects(links.unlink(shop(), 'billing'), /did not become healthy/);
    assert.equal(apps.findByName('shop')?.links.length, 1, 'still linked, as its processes still are');
    failing = false;
    assert.deepEqual(await links.unlink(shop(), 'billing'), { links: [], linkedFrom: [] });
  });

  it('waits for a destroy of the other app under way, then refuses the link, changing nothing', async (t) => {
    const { apps, calls } = setup(t);
    const locks = new KeyedMutex();
    // As Deployer.withAppLock: under the app's lock, and only if the app is still there.
    const deployer = {
      withAppLock: <T>(name: string, task: () => Promise<T>) => locks.run(name, () => {
        if (!apps.findByName(name)) throw new ConflictError(`${name} was renamed or destroyed while this change waited: nothing changed`);
        return task();
      }),
    };
    const engine = { ensureNetwork: async () => void calls.push('ensure'), listContainers: async () => [], connectNetwork: async () => void calls.push('connect') } as unknown as ContainerEngine;
    const links = new LinkService({ apps, runtime: new DockerRuntime(engine, 'pt'), deployer });
    let destroyed!: () => void;
    const destroying = deployer.withAppLock('billing', () => new Promise<void>((resolve) => (destroyed = resolve)));
    const linking = links.link(apps.findByName('shop')!, 'billing');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, [], 'the link waits for the destroy');
    apps.delete(apps.findByName('billing')!.id);
    destroyed();
    await destroying;
    await assert.rejects(linking, /billing was renamed or destroyed while this change waited/);
    assert.deepEqual(calls, []);
    assert.deepEqual(apps.findByName('shop')!.links, []);
  });

  it('refuses a link to itself or to an app that does not exist, changing nothing', async (t) => {
    const { apps, calls, links } = setup(t);
    const shop = apps.findByName('shop');
    assert.ok(shop);
    await assert.rejects(links.link(shop, 'shop'), ValidationError);
    await assert.rejects(links.link(shop, 'nobody'), /no app named "nobody" to link shop to/);
    assert.deepEqual(calls, []);
    assert.deepEqual(apps.findByName('shop')?.links, []);
  });
});
