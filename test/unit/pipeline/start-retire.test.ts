import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_CAPABILITIES, containerPlan, formationProcesses, oneOffPlan, processQuantities, releaseRuntime } from '../../../src/pipeline/start.js';
import { imageTagsToKeep, imagesToPrune } from '../../../src/pipeline/retire.js';
import { NO_DEPLOY_SCRIPTS, type Release, type ReleaseStatus } from '../../../src/domain/types.js';

const runtime = {
  instance: 'pt-1', app: 'shop', version: 7, image: 'pt-1/shop:v7',
  config: { DATABASE_URL: 'postgres://x', PORT: '1' }, port: 5000, memoryBytes: 512 * 1024 * 1024, cpus: 0.5,
  volumes: [{ path: '/data', name: 'pt-1-shop-data' }], linkedNetworks: ['pt-1-billing-net'], capabilities: ['CHOWN', 'NET_RAW'], pidsLimit: 256,
};

describe('containerPlan', () => {
  it('names web.1 by instance, app and slot, sets PORT over config, labels the process and mounts the volumes', () => {
    const plan = containerPlan(runtime, { identity: { app: 'shop', release: 7, slot: 'green', type: 'web', index: 1 }, command: null });
    assert.equal(plan.name, 'pt-1-shop-green');
    assert.equal(plan.network, 'pt-1-shop-net', "the app's own network");
    assert.deepEqual(plan.extraNetworks, ['pt-1-billing-net'], 'and those of the apps it is linked to');
    assert.deepEqual(plan.aliases, ['shop'], 'linked apps reach web processes by the app name');
    assert.deepEqual(plan.capAdd, ['CHOWN', 'NET_RAW']);
    assert.equal(plan.pidsLimit, 256);
    assert.deepEqual(plan.env, { DATABASE_URL: 'postgres://x', PORT: '5000' });
    assert.deepEqual(plan.labels, {
      'pilot.instance': 'pt-1', 'pilot.app': 'shop', 'pilot.release': '7', 'pilot.slot': 'green', 'pilot.process': 'web', 'pilot.index': '1',
    });
    assert.equal(plan.command, undefined, "the image's own command");
    assert.deepEqual(plan.mounts, [{ volume: 'pt-1-shop-data', path: '/data' }]);
    assert.equal(plan.nanoCpus, 500_000_000);
    assert.equal(plan.restartPolicy, 'no', 'a candidate is not restarted while it is checked');
  });
});

describe('formationProcesses', () => {
  const release = (processes: Record<string, string>) => ({ app: 'shop', version: 7, processes });

  it('plans every process type at its scale, web first, Procfile commands under a shell', () => {
    const processes = formationProcesses(release({ worker: 'node worker.js', web: 'node web.js', clock: 'node clock.js' }), 'blue', { web: 2, clock: 0, worker: 1 });
    const plans = processes.map((process) => containerPlan(runtime, process));
    assert.deepEqual(plans.map((plan) => plan.name), ['pt-1-shop-blue', 'pt-1-shop-blue-web.2', 'pt-1-shop-blue-worker.1']);
    assert.deepEqual(plans[2]?.command, ['/bin/sh', '-c', 'exec node worker.js']);
  });

  it('plans nothing for a type at 0 or without a quantity', () => {
    assert.deepEqual(formationProcesses(release({ worker: 'node worker.js' }), 'blue', { worker: 0 }), []);
    assert.deepEqual(formationProcesses(release({ worker: 'node worker.js' }), 'blue', {}), []);
  });

  it('plans one-off containers that are never restarted and never clash with processes', () => {
    const plan = oneOffPlan(runtime, { kind: 'release', suffix: 'v7', command: ['/bin/sh', '-c', 'exec migrate'], input: 'none' });
    assert.equal(plan.name, 'pt-1-shop-release-v7');
    assert.equal(plan.labels['pilot.process'], 'release');
    assert.equal(plan.restartPolicy, 'no');
    assert.deepEqual(plan.aliases, [], 'a one-off container is never reached by the app name');
  });
});

describe('releaseRuntime', () => {
  const release = { version: 3, image: 'pt-1/shop:v3', config: {}, port: 5000 };
  const settings = { instance: 'pt-1', appMemoryBytes: 256 * 1024 ** 2, appCpus: 1, appPids: 512 };

  it('gives the base capabilities (no NET_RAW) plus the app\'s own, the pids limit and the linked apps\' networks', () => {
    const app = { name: 'shop', memoryBytes: null, cpus: null, capAdd: [], links: [] };
    const plain = releaseRuntime(app, release, settings, []);
    assert.deepEqual(plain.capabilities, [...BASE_CAPABILITIES]);
    assert.equal(plain.capabilities.includes('NET_RAW'), false);
    assert.equal(plain.pidsLimit, 512);
    assert.deepEqual(plain.linkedNetworks, []);
    const opted = releaseRuntime({ ...app, capAdd: ['NET_RAW', 'CHOWN'], links: ['billing', 'auth'] }, release, settings, []);
    assert.deepEqual(opted.capabilities, [...BASE_CAPABILITIES, 'NET_RAW']);
    assert.deepEqual(opted.linkedNetworks, ['pt-1-billing-net', 'pt-1-auth-net']);
  });
});

describe('processQuantities', () => {
  const processes = { web: 'node web.js', worker: 'node worker.js', console: 'node -e 0' };

  it('runs one web and no other type by default, as Dokku does', () => {
    assert.deepEqual(processQuantities({ processes, formation: {} }, {}), { web: 1, worker: 0, console: 0 });
    assert.deepEqual(processQuantities({ processes: { worker: 'node worker.js' }, formation: {} }, {}), { worker: 0 });
  });

  it('takes the ps:scale rows for the types they set', () => {
    assert.deepEqual(processQuantities({ processes, formation: {} }, { web: 3, worker: 2, gone: 4 }), { web: 3, worker: 2, console: 0 });
    assert.deepEqual(processQuantities({ processes, formation: {} }, { web: 0 }), { web: 0, worker: 0, console: 0 });
  });

  it('lets app.json formation win over ps:scale rows, for the types it sets', () => {
    assert.deepEqual(processQuantities({ processes, formation: { worker: 1, web: 2 } }, { web: 5, worker: 3, console: 1 }), { web: 2, worker: 1, console: 1 });
  });
});

function release(version: number, status: ReleaseStatus, image: string | null): Release {
  return {
    id: version, appId: 1, version, kind: 'deploy', gitSha: null, source: null, buildpack: 'node', image, config: {}, buildKeys: [], status,
    slot: null, containerId: null, port: 5000, healthChecks: [{ path: '/' }], processes: { web: null }, formation: {}, releaseCommand: null,
    scripts: NO_DEPLOY_SCRIPTS, cron: [],
    failureReason: null, description: null, madeBy: null, createdAt: '', updatedAt: '',
  };
}

describe('imagesToPrune', () => {
  it('keeps the newest releases that served and the live one, and prunes the rest once each', () => {
    const releases = [
      release(1, 'retired', 'app:v1'),
      release(2, 'live', 'app:v2'),
      release(3, 'retired', 'app:v3'),
      release(4, 'retired', 'app:v4'),
      release(5, 'retired', 'app:v1'),
    ];
    assert.deepEqual(imagesToPrune(releases, 2), ['app:v3']);
    assert.deepEqual(imagesToPrune(releases, 1), ['app:v4', 'app:v3']);
    assert.deepEqual(imagesToPrune(releases, 3), []);
  });

  it('prunes the images of failed releases at once and never those of releases in progress', () => {
    const releases = [
      release(1, 'live', 'app:v1'),
      release(2, 'failed', 'app:v2'),
      release(3, 'failed', null),
      release(4, 'failed', 'app:v1'),
      release(5, 'checking', 'app:v5'),
      release(6, 'building', 'app:v6'),
    ];
    assert.deepEqual(imagesToPrune(releases, 1), ['app:v2']);
  });
});

describe('imageTagsToKeep', () => {
  it('gives the tags of the images that pruning keeps, each once', () => {
    const releases = [
      release(1, 'retired', 'pt/app:v1'),
      release(2, 'retired', 'pt/app:v2'),
      release(3, 'live', 'pt/app:v3'),
      release(4, 'retired', 'pt/app:v2'),
      release(5, 'failed', 'pt/app:v5'),
      release(6, 'building', null),
    ];
    assert.deepEqual(imageTagsToKeep(releases, 2).sort(), ['v2', 'v3']);
    assert.deepEqual(imageTagsToKeep(releases, 5).sort(), ['v1', 'v2', 'v3']);
  });
});
