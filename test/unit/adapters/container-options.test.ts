import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerCreateOptions } from '../../../src/adapters/docker/containers.js';
import { containerPlan, releaseRuntime } from '../../../src/pipeline/start.js';

describe('containerCreateOptions', () => {
  const runtime = releaseRuntime(
    { name: 'shop', memoryBytes: null, cpus: null, capAdd: ['NET_RAW'], links: ['billing'] },
    { version: 2, image: 'pt/shop:v2', config: {}, port: 5000 },
    { instance: 'pt', appMemoryBytes: 256 * 1024 ** 2, appCpus: 1, appPids: 512 },
    [],
  );

  it("drops every capability but the planned ones, forbids new privileges, caps pids, and starts on the app's own network with its alias", () => {
    const options = containerCreateOptions(containerPlan(runtime, { identity: { app: 'shop', release: 2, slot: 'blue', type: 'web', index: 1 }, command: null }));
    assert.deepEqual(options.HostConfig?.CapDrop, ['ALL']);
    assert.deepEqual(options.HostConfig?.CapAdd, ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'NET_BIND_SERVICE', 'NET_RAW']);
    assert.deepEqual(options.HostConfig?.SecurityOpt, ['no-new-privileges:true']);
    assert.equal(options.HostConfig?.PidsLimit, 512);
    assert.equal(options.HostConfig?.Privileged, false);
    assert.equal(options.HostConfig?.NetworkMode, 'pt-shop-net');
    assert.deepEqual(options.NetworkingConfig, { EndpointsConfig: { 'pt-shop-net': { Aliases: ['shop'] } } });
  });
});
