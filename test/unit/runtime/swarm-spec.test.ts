import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { ReleaseRuntime } from '../../../src/domain/ports.js';
import { DRAIN_SHIM, healthcheck, serviceSpec, type ServiceSettings } from '../../../src/runtime/swarm-spec.js';
import { taskIdentity } from '../../../src/domain/process-identity.js';

const runtime: ReleaseRuntime = {
  instance: 'pilot', app: 'shop', version: 7, image: 'pilot/shop:v7', config: { GREETING: 'hi' }, port: 5000,
  memoryBytes: 256 * 1024 ** 2, cpus: 0.5, volumes: [], linkedNetworks: ['pilot-db-net'], capabilities: ['CHOWN', 'KILL'], pidsLimit: 512,
};
const settings: ServiceSettings = {
  image: 'registry.example/pilot/shop:v7', imageCommand: ['node', 'server.js'], type: 'web', command: null, replicas: 3, slot: 'green', port: 5000,
  healthChecks: [{ path: '/health' }], healthTimeoutSeconds: 20, drainSeconds: 10, stopTimeoutSeconds: 30, forceUpdate: 2,
};
const S = 1_000_000_000;

describe('serviceSpec: one Swarm service per app and process type', () => {
  const cases: { name: string; settings: Partial<ServiceSettings>; runtime?: Partial<ReleaseRuntime>; expect: (spec: ReturnType<typeof serviceSpec>) => void }[] = [
    {
      name: 'web: named <instance>-<app>-<type>, replicas from the formation, the release as a label',
      settings: {},
      expect: (spec) => {
        assert.equal(spec.Name, 'pilot-shop-web');
        assert.equal(spec.Mode.Replicated.Replicas, 3);
        assert.deepEqual(spec.Labels, { 'pilot.instance': 'pilot', 'pilot.app': 'shop', 'pilot.release': '7', 'pilot.slot': 'green', 'pilot.process': 'web' });
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.Labels, spec.Labels);
        assert.equal(spec.TaskTemplate.ContainerSpec.Image, 'registry.example/pilot/shop:v7');
      },
    },
    {
      name: 'updates start-first, one at a time, rolling back on failure; no VIP',
      settings: {},
      expect: (spec) => {
        assert.deepEqual(spec.UpdateConfig, { Parallelism: 1, Order: 'start-first', FailureAction: 'rollback', Monitor: 20 * S, MaxFailureRatio: 0 });
        assert.equal(spec.RollbackConfig.Order, 'start-first');
        assert.deepEqual(spec.EndpointSpec, { Mode: 'dnsrr' });
      },
    },
    {
      name: 'stop grace is the drain and the stop timeout; the drain shim runs the image command',
      settings: {},
      expect: (spec) => {
        const container = spec.TaskTemplate.ContainerSpec;
        assert.equal(container.StopGracePeriod, 40 * S);
        assert.deepEqual(container.Command, ['/bin/sh', '-c', DRAIN_SHIM, 'pilot-drain', 'node', 'server.js']);
        assert.ok(container.Env.includes('PILOT_DRAIN_SECONDS=10') && container.Env.includes('PORT=5000') && container.Env.includes('GREETING=hi'));
      },
    },
    {
      name: 'a Procfile command runs under a shell, still under the shim',
      settings: { type: 'worker', command: 'node worker.js', replicas: 0 },
      expect: (spec) => {
        assert.equal(spec.Name, 'pilot-shop-worker');
        assert.equal(spec.Mode.Replicated.Replicas, 0);
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.Command.slice(3), ['pilot-drain', '/bin/sh', '-c', 'exec node worker.js']);
        assert.equal(spec.TaskTemplate.ContainerSpec.Healthcheck, undefined, 'no HTTP check for a worker');
        assert.deepEqual(spec.TaskTemplate.Networks, [{ Target: 'pilot-shop-net', Aliases: [] }, { Target: 'pilot-db-net', Aliases: [] }]);
      },
    },
    {
      name: 'web: a health check from the app check, the app reachable by its name on its network',
      settings: {},
      expect: (spec) => {
        assert.match(spec.TaskTemplate.ContainerSpec.Healthcheck?.Test[1] ?? '', /http:\/\/127\.0\.0\.1:5000\/health/);
        assert.deepEqual(spec.TaskTemplate.Networks[0], { Target: 'pilot-shop-net', Aliases: ['shop'] });
      },
    },
    {
      name: 'limits and capabilities of the app; a restart bumps ForceUpdate',
      settings: { forceUpdate: 5 },
      expect: (spec) => {
        assert.deepEqual(spec.TaskTemplate.Resources.Limits, { NanoCPUs: 500_000_000, MemoryBytes: 256 * 1024 ** 2, Pids: 512 });
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.CapabilityDrop, ['ALL']);
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.CapabilityAdd, ['CHOWN', 'KILL']);
        assert.equal(spec.TaskTemplate.ForceUpdate, 5);
      },
    },
    {
      name: 'no volumes: no mounts, placed anywhere',
      settings: {},
      expect: (spec) => {
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, []);
        assert.deepEqual(spec.TaskTemplate.Placement, { Constraints: [] });
      },
    },
    {
      name: 'volumes: mounted, placed on the node labelled as holding each, updated and rolled back stop-first',
      settings: {},
      runtime: { volumes: [{ path: '/data', name: 'pilot-shop-data-1a2b3c4d' }, { path: '/app/uploads', name: 'pilot-shop-app-uploads-5e6f7a8b' }] },
      expect: (spec) => {
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, [
          { Type: 'volume', Source: 'pilot-shop-data-1a2b3c4d', Target: '/data' },
          { Type: 'volume', Source: 'pilot-shop-app-uploads-5e6f7a8b', Target: '/app/uploads' },
        ]);
        assert.deepEqual(spec.TaskTemplate.Placement.Constraints, [
          'node.labels.pilot.volume.pilot-shop-data-1a2b3c4d==true',
          'node.labels.pilot.volume.pilot-shop-app-uploads-5e6f7a8b==true',
        ]);
        assert.deepEqual(spec.UpdateConfig, { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 20 * S, MaxFailureRatio: 0 });
        assert.equal(spec.RollbackConfig.Order, 'stop-first');
      },
    },
    {
      name: 'volumes of a worker type: mounted and placed the same',
      settings: { type: 'worker', command: 'node worker.js' },
      runtime: { volumes: [{ path: '/data', name: 'pilot-shop-data-1a2b3c4d' }] },
      expect: (spec) => {
        assert.deepEqual(spec.TaskTemplate.ContainerSpec.Mounts, [{ Type: 'volume', Source: 'pilot-shop-data-1a2b3c4d', Target: '/data' }]);
        assert.deepEqual(spec.TaskTemplate.Placement.Constraints, ['node.labels.pilot.volume.pilot-shop-data-1a2b3c4d==true']);
        assert.equal(spec.UpdateConfig.Order, 'stop-first');
      },
    },
  ];
  for (const { name, settings: changes, runtime: runtimeChanges, expect } of cases) it(name, () => expect(serviceSpec({ ...runtime, ...runtimeChanges }, { ...settings, ...changes })));

  it("a task's identity is its container's labels and its slot", () => {
    const spec = serviceSpec(runtime, settings);
    assert.deepEqual(taskIdentity(spec.TaskTemplate.ContainerSpec.Labels, 3), { app: 'shop', release: 7, slot: 'green', type: 'web', index: 3 });
  });
});

describe('healthcheck', () => {
  it('times from the checks, failures in the health timeout not counted', () => {
    const check = healthcheck([{ path: '/a', attempts: 5, timeout: 4, wait: 2 }, { path: '/b', port: 8080, content: "it's ok" }], 5000, 30);
    assert.deepEqual({ ...check, Test: undefined }, { Test: undefined, Interval: 2 * S, Timeout: 4 * S, Retries: 5, StartPeriod: 30 * S });
    assert.equal(check.Test[0], 'CMD-SHELL');
    assert.match(check.Test[1] ?? '', /127\.0\.0\.1:5000\/a'.* && .*127\.0\.0\.1:8080\/b'/);
  });

  it('is a valid shell command that fails when nothing answers', () => {
    const [, command] = healthcheck([{ path: '/x', content: "it's" }], 1, 1).Test;
    const result = (() => {
      try {
        execFileSync('/bin/sh', ['-c', command ?? ''], { stdio: 'pipe', timeout: 10_000 });
        return 0;
      } catch (error) {
        return (error as { status: number }).status;
      }
    })();
    assert.notEqual(result, 0);
    assert.notEqual(result, 2, 'not a shell syntax error');
  });
});

describe('DRAIN_SHIM', () => {
  it('keeps the process serving through the drain after SIGTERM, then passes the signal and its exit code on', () => {
    // The app notes the signal it gets; it must not have it while the shim drains.
    const app = `trap "echo got-term >>$NOTES; exit 7" TERM; echo started >>"$NOTES"; while :; do sleep 0.1; done`;
    const script = [
      `sh -c '${DRAIN_SHIM.replaceAll("'", `'\\''`)}' pilot-drain sh -c '${app.replaceAll("'", `'\\''`)}' & shim=$!`,
      'until grep -q started "$NOTES" 2>/dev/null; do sleep 0.05; done',
      'kill -TERM $shim; sleep 0.2; cat "$NOTES"; echo during-drain',
      'wait $shim; echo "exit $?"; cat "$NOTES"',
    ].join('\n');
    const notes = `/tmp/pilot-drain-shim-${process.pid}`;
    const output = execFileSync('/bin/sh', ['-c', script], { env: { ...process.env, PILOT_DRAIN_SECONDS: '2', NOTES: notes }, timeout: 10_000 }).toString();
    assert.equal(output, 'started\nduring-drain\nexit 7\nstarted\ngot-term\n');
  });
});
