import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseMemory } from '../../src/config.js';
import { ConfigError } from '../../src/domain/errors.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.dataDir, '/var/lib/pilot');
    assert.equal(config.port, 3000);
    assert.equal(config.bind, '127.0.0.1');
    assert.equal(config.domain, 'localhost');
    assert.equal(config.httpPort, 80);
    assert.equal(config.httpsPort, 443);
    assert.equal(config.tls, 'internal');
    assert.equal(config.caddyAdmin, undefined);
    assert.equal(config.nodeImage, 'node:{{major}}-bookworm-slim');
    assert.equal(config.staticImage, 'caddy:2-alpine');
    assert.equal(config.instance, 'pilot');
    assert.equal(config.healthTimeoutSeconds, 60);
    assert.equal(config.drainSeconds, 10);
    assert.equal(config.stopTimeoutSeconds, 30);
    assert.equal(config.buildTimeoutSeconds, 900);
    assert.equal(config.buildConcurrency, 1);
    assert.equal(config.keepReleases, 5);
    assert.equal(config.maxPushBytes, 500 * 1024 * 1024);
    assert.equal(config.appMemoryBytes, 512 * 1024 * 1024);
    assert.equal(config.appCpus, 1);
    assert.equal(config.appPids, 512);
    assert.deepEqual(config.buildAllowedImages, []);
  });

  it('schedules on this one engine unless PILOT_SCHEDULER=swarm, and refuses another scheduler', () => {
    assert.equal(loadConfig({}).scheduler, 'docker');
    assert.equal(loadConfig({ PILOT_SCHEDULER: 'swarm' }).scheduler, 'swarm');
    assert.throws(() => loadConfig({ PILOT_SCHEDULER: 'k8s' }), /PILOT_SCHEDULER="k8s" is not allowed: use one of docker, swarm/);
  });

  it("reads the swarm registry's image, address and port, refusing a port that is none", () => {
    assert.deepEqual(loadConfig({}).registry, { image: 'registry:2', host: undefined, port: 5000 });
    assert.deepEqual(loadConfig({ PILOT_REGISTRY_IMAGE: 'example/registry:2.8', PILOT_REGISTRY_HOST: '10.0.0.5', PILOT_REGISTRY_PORT: '5443' }).registry, { image: 'example/registry:2.8', host: '10.0.0.5', port: 5443 });
    assert.throws(() => loadConfig({ PILOT_REGISTRY_PORT: '70000' }), /PILOT_REGISTRY_PORT/);
  });

  it("reads the swarm stats agent's port, refusing one that Caddy or the registry holds in swarm mode", () => {
    assert.equal(loadConfig({}).swarmAgentPort, 7079);
    assert.equal(loadConfig({ PILOT_SWARM_AGENT_PORT: '9100' }).swarmAgentPort, 9100);
    assert.throws(() => loadConfig({ PILOT_SCHEDULER: 'swarm', PILOT_SWARM_AGENT_PORT: '5000' }), /PILOT_SWARM_AGENT_PORT \(5000\) is PILOT_REGISTRY_PORT too/);
    assert.equal(loadConfig({ PILOT_SWARM_AGENT_PORT: '5000' }).swarmAgentPort, 5000, 'no agent on one host');
  });

  it('reads PILOT_APP_PIDS and the images builds may start from beyond the base ones', () => {
    const config = loadConfig({ PILOT_APP_PIDS: '200', PILOT_BUILD_ALLOWED_IMAGES: ' registry.example.com/base/*, tools:1 ,' });
    assert.equal(config.appPids, 200);
    assert.deepEqual(config.buildAllowedImages, ['registry.example.com/base/*', 'tools:1']);
    assert.throws(() => loadConfig({ PILOT_APP_PIDS: '0' }), /PILOT_APP_PIDS="0" is not allowed: use a whole number greater than 0/);
  });

  it('caps builds at half the host by default, and takes PILOT_BUILD_CPUS / PILOT_BUILD_MEMORY', () => {
    const host = { cpus: 8, memoryBytes: 16 * 1024 ** 3 };
    assert.equal(loadConfig({}, host).buildCpus, 4);
    assert.equal(loadConfig({}, host).buildMemoryBytes, 8 * 1024 ** 3);
    // A small machine still gives a build a whole core and a gigabyte.
    assert.equal(loadConfig({}, { cpus: 1, memoryBytes: 1024 ** 3 }).buildCpus, 1);
    assert.equal(loadConfig({}, { cpus: 1, memoryBytes: 1024 ** 3 }).buildMemoryBytes, 1024 ** 3);
    const set = loadConfig({ PILOT_BUILD_CPUS: '0.5', PILOT_BUILD_MEMORY: '768m' }, host);
    assert.equal(set.buildCpus, 0.5);
    assert.equal(set.buildMemoryBytes, 768 * 1024 ** 2);
    assert.throws(() => loadConfig({ PILOT_BUILD_CPUS: 'lots', PILOT_BUILD_MEMORY: '2 GB' }), (error: ConfigError) => {
      assert.match(error.message, /PILOT_BUILD_CPUS/);
      assert.match(error.message, /PILOT_BUILD_MEMORY/);
      return true;
    });
  });

  it('refuses build and app caps below what Docker accepts (0.01 CPU, 6m), naming the variable', () => {
    assert.throws(() => loadConfig({ PILOT_BUILD_CPUS: '0.005', PILOT_BUILD_MEMORY: '5m', PILOT_APP_CPUS: '0.001' }), (error: ConfigError) => {
      assert.equal(error.problems.length, 3);
      assert.match(error.message, /PILOT_BUILD_CPUS="0\.005" is not allowed: use a number of CPUs of at least 0\.01, the smallest quota Docker accepts/);
      assert.match(error.message, /PILOT_BUILD_MEMORY="5m" is not a memory size of at least 6m, the smallest limit Docker accepts/);
      assert.match(error.message, /PILOT_APP_CPUS="0\.001" is not allowed: use a number of CPUs of at least 0\.01/);
      return true;
    });
    assert.throws(() => loadConfig({ PILOT_BUILD_MEMORY: '6291455' }), /PILOT_BUILD_MEMORY="6291455" is not a memory size of at least 6m/);
    const smallest = loadConfig({ PILOT_BUILD_CPUS: '0.01', PILOT_BUILD_MEMORY: '6m' });
    assert.equal(smallest.buildCpus, 0.01);
    assert.equal(smallest.buildMemoryBytes, 6 * 1024 ** 2);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('defaults TLS to acme for a public domain and internal for IP addresses', () => {
    assert.equal(loadConfig({ PILOT_DOMAIN: 'example.com' }).tls, 'acme');
    assert.equal(loadConfig({ PILOT_DOMAIN: '10.0.0.5' }).tls, 'internal');
    assert.equal(loadConfig({ PILOT_DOMAIN: 'apps.localhost' }).tls, 'internal');
  });

  it('names every bad variable and what it allows, all at once', () => {
    const error = (() => {
      try {
        loadConfig({ PILOT_PORT: 'eighty', PILOT_TLS: 'maybe', PILOT_APP_MEMORY: 'lots', PILOT_INSTANCE: 'Bad Name', PILOT_DOMAIN: 'no spaces.com' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 5);
    assert.match(error.message, /PILOT_PORT="eighty" is not allowed: use a port number from 0 to 65535/);
    assert.match(error.message, /PILOT_TLS="maybe" is not allowed: use one of acme, internal, off/);
    assert.match(error.message, /PILOT_APP_MEMORY="lots" is not a memory size/);
    assert.match(error.message, /PILOT_INSTANCE="Bad Name" is not valid/);
    assert.match(error.message, /PILOT_DOMAIN="no spaces.com" is not a host name/);
  });

  it('refuses acme for a local domain, which no CA can certify', () => {
    assert.throws(() => loadConfig({ PILOT_TLS: 'acme' }), /PILOT_TLS=acme cannot get certificates for "localhost"/);
  });

  it('allows cron schedules with seconds only when PILOT_CRON_ALLOW_SECONDS says so (tests)', () => {
    assert.equal(loadConfig({}).cronAllowSeconds, false);
    assert.equal(loadConfig({ PILOT_CRON_ALLOW_SECONDS: 'true' }).cronAllowSeconds, true);
    assert.equal(loadConfig({ PILOT_CRON_ALLOW_SECONDS: '0' }).cronAllowSeconds, false);
    assert.throws(() => loadConfig({ PILOT_CRON_ALLOW_SECONDS: 'sometimes' }), /PILOT_CRON_ALLOW_SECONDS="sometimes" is not allowed: use true or false/);
  });

  it('trusts no extra CA for submodule fetches unless PILOT_SUBMODULE_CA_FILE names one (tests)', () => {
    assert.equal(loadConfig({}).submoduleCaFile, undefined);
    assert.equal(loadConfig({ PILOT_SUBMODULE_CA_FILE: '/tmp/ca.pem' }).submoduleCaFile, '/tmp/ca.pem');
  });

  it('reads numbers and memory sizes', () => {
    const config = loadConfig({ PILOT_HEALTH_TIMEOUT: '2.5', PILOT_APP_MEMORY: '1g', PILOT_MAX_PUSH_MB: '10', PILOT_DRAIN_SECONDS: '0' });
    assert.equal(config.healthTimeoutSeconds, 2.5);
    assert.equal(config.appMemoryBytes, 1024 ** 3);
    assert.equal(config.maxPushBytes, 10 * 1024 * 1024);
    assert.equal(config.drainSeconds, 0);
    assert.equal(parseMemory('64k'), 64 * 1024);
    assert.equal(parseMemory('12x'), undefined);
  });
});

describe('loadConfig: connections and the admin token', () => {
  it('refuses a PILOT_ADMIN_TOKEN shorter than 24 characters, without showing it', () => {
    assert.throws(() => loadConfig({ PILOT_ADMIN_TOKEN: 'short-secret' }), (error: ConfigError) => {
      assert.match(error.message, /PILOT_ADMIN_TOKEN is too short \(12 characters\): use at least 24/);
      assert.ok(!error.message.includes('short-secret'));
      return true;
    });
    assert.equal(loadConfig({ PILOT_ADMIN_TOKEN: 'x'.repeat(24) }).adminToken, 'x'.repeat(24));
    assert.equal(loadConfig({}).adminToken, undefined);
  });

  it('times out slow requests and caps connections by default, and takes the variables', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.requestTimeoutSeconds, 600);
    assert.equal(defaults.headersTimeoutSeconds, 20);
    assert.equal(defaults.maxConnections, 512);
    const set = loadConfig({ PILOT_REQUEST_TIMEOUT: '30', PILOT_HEADERS_TIMEOUT: '5', PILOT_MAX_CONNECTIONS: '64' });
    assert.deepEqual([set.requestTimeoutSeconds, set.headersTimeoutSeconds, set.maxConnections], [30, 5, 64]);
    assert.throws(() => loadConfig({ PILOT_REQUEST_TIMEOUT: '10', PILOT_HEADERS_TIMEOUT: '20' }), /PILOT_HEADERS_TIMEOUT \(20\) must not be longer than PILOT_REQUEST_TIMEOUT \(10\)/);
    assert.throws(() => loadConfig({ PILOT_REQUEST_TIMEOUT: '0', PILOT_MAX_CONNECTIONS: '1.5' }), (error: ConfigError) => error.problems.length === 2);
  });
});
