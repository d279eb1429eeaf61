import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildCaddyfileContext, type RouteSettings } from '../../../../src/pipeline/routes.js';
import { createTemplateRenderer } from '../../../../src/adapters/templates.js';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import { CONTAINER_ADMIN_ADDRESS, CONTAINER_LOCAL_CA, SwarmCaddy, gatewayOf, bootScript, containerSpec, type SwarmCaddyOptions } from '../../../../src/adapters/caddy/swarm-caddy.js';

const options: SwarmCaddyOptions = { instance: 'pilot', image: 'caddy:2-alpine', httpPort: 80, httpsPort: 443, adminAddress: '127.0.0.1:2019', logger: pino({ level: 'silent' }) };
const settings: RouteSettings = {
  adminAddress: CONTAINER_ADMIN_ADDRESS, adminOrigins: options.adminAddress, domain: 'example.com', httpPort: 80, httpsPort: 443,
  tls: 'acme', acmeEmail: undefined, controlPlaneUpstream: '127.0.0.1:3000', streamCloseDelay: undefined, retryUpstreams: true,
};
const WILDCARD = /^(0\.0\.0\.0|\[?::\]?|\*)?:\d+$|^:?\d+$/;

/** Every `admin` address of a Caddyfile's global options. */
function adminAddresses(caddyfile: string): string[] {
  return [...caddyfile.matchAll(/^\s*admin\s+(\S+)/gm)].map((match) => match[1] ?? '');
}

describe('the swarm Caddy admin API is not on the app overlays', () => {
  it('every rendered Caddyfile names the bridge address variable and the admin origin, never a wildcard', () => {
    const caddyfile = createTemplateRenderer().renderCaddyfile(
      buildCaddyfileContext(settings, [{ id: 1, name: 'shop', hosts: ['shop.example.com'], upstreams: ['10.0.1.5:5000'] }]),
    );
    const addresses = adminAddresses(caddyfile);
    assert.deepEqual(addresses, ['{$PILOT_CADDY_ADMIN_ADDRESS}']);
    assert.ok(addresses.every((address) => !WILDCARD.test(address)));
    assert.match(caddyfile, /admin \{\$PILOT_CADDY_ADMIN_ADDRESS\} \{\n\t\torigins 127\.0\.0\.1:2019\n\t\}/);
  });

  it('the boot script binds the admin to eth0 (the default bridge) only, and accepts the published address as Host', () => {
    const script = bootScript(options.adminAddress);
    assert.match(script, /ip -4 -o addr show dev eth0/);
    assert.match(script, /export PILOT_CADDY_ADMIN_ADDRESS="\$bridge:2019"/);
    assert.match(script, /admin \{\$PILOT_CADDY_ADMIN_ADDRESS\} \{\\n\\t\\torigins 127\.0\.0\.1:2019/);
    assert.doesNotMatch(script, /0\.0\.0\.0/);
  });

  it('publishes the admin port on PILOT_SWARM_CADDY_ADMIN only, and labels the spec so that a changed one is replaced', () => {
    const spec = containerSpec(options);
    assert.deepEqual(spec.HostConfig?.PortBindings?.['2019/tcp'], [{ HostIp: '127.0.0.1', HostPort: '2019' }]);
    const other = containerSpec({ ...options, image: 'caddy:2.8-alpine' });
    assert.notEqual(spec.Labels['pilot.caddy-spec'], other.Labels['pilot.caddy-spec']);
    assert.equal(spec.Labels['pilot.caddy-spec'], containerSpec(options).Labels['pilot.caddy-spec']);
    assert.throws(() => containerSpec({ ...options, adminAddress: 'unix//run/caddy.sock' }), /host:port/);
  });
});

describe('a recreated swarm Caddy container', () => {
  it("keeps /data on the instance's named volume, and Caddy's certificates and CA there whatever the image sets", () => {
    assert.deepEqual(containerSpec(options).HostConfig?.Mounts, [{ Type: 'volume', Source: 'pilot-caddy-data', Target: '/data' }]);
    assert.deepEqual(containerSpec(options).Env, ['XDG_DATA_HOME=/data']);
  });

  it('bounds its output, which carries every access log entry', () => {
    assert.deepEqual(containerSpec(options).HostConfig?.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
  });

  it('hands the connections queued at a route reload to the new listener instead of resetting them', () => {
    assert.deepEqual(containerSpec(options).HostConfig?.Sysctls, { 'net.ipv4.tcp_migrate_req': '1' });
  });

  /** An engine without the container; `image` says whether it has Caddy's image, and what a pull streams. */
  function engine(calls: string[], image: { present: boolean; pullEvents?: object[] }, networks: Record<string, string[]> = {}) {
    const container = { inspect: async () => { throw Object.assign(new Error('no such container'), { statusCode: 404 }); }, start: async () => void calls.push('start') };
    return {
      getImage: (name: string) => ({
        inspect: async () => {
          if (!image.present) throw Object.assign(new Error(`no such image: ${name}`), { statusCode: 404 });
          return { Id: 'sha256:caddy' };
        },
      }),
      pull: async (name: string) => (calls.push(`pull ${name}`), Readable.from([])),
      modem: {
        followProgress: (_stream: unknown, done: (error: Error | null) => void, onEvent: (event: object) => void) => {
          for (const event of image.pullEvents ?? []) onEvent(event);
          done(null);
        },
      },
      getContainer: () => container,
      createVolume: async ({ Name }: { Name: string }) => void calls.push(`volume ${Name}`),
      createContainer: async ({ name }: { name: string }) => (calls.push(`create ${name}`), container),
      listNetworks: async ({ filters }: { filters: { label: string[]; driver: string[] } }) => {
        calls.push(`list ${filters.label.join(',')} ${filters.driver.join(',')}`);
        return Object.keys(networks).map((name) => ({ Id: name, Name: name }));
      },
      getNetwork: (id: string) => ({
        inspect: async () => ({ Containers: Object.fromEntries((networks[id] ?? []).map((name) => [name, { Name: name }])) }),
        connect: async ({ Container }: { Container: string }) => void calls.push(`connect ${Container} to ${id}`),
      }),
    };
  }
  function swarmCaddy(docker: ReturnType<typeof engine>): SwarmCaddy {
    const caddy = new SwarmCaddy(docker as unknown as Docker, options);
    (caddy.admin as { reachable: () => Promise<boolean> }).reachable = async () => true;
    return caddy;
  }

  it("joins, after it started, every app overlay of the instance it is not on yet", async () => {
    const calls: string[] = [];
    await swarmCaddy(engine(calls, { present: true }, { 'pilot-shop-net': [], 'pilot-blog-net': ['pilot-caddy'] })).start();
    assert.deepEqual(calls, ['volume pilot-caddy-data', 'create pilot-caddy', 'start', 'list pilot.instance=pilot overlay', 'connect pilot-caddy to pilot-shop-net']);
  });

  it('pulls its image on a fresh manager, whose engine has none yet', async () => {
    const calls: string[] = [];
    await swarmCaddy(engine(calls, { present: false })).start();
    assert.deepEqual(calls.slice(0, 3), ['pull caddy:2-alpine', 'volume pilot-caddy-data', 'create pilot-caddy']);
  });

  it('says which image it could not pull, and what to do', async () => {
    const calls: string[] = [];
    await assert.rejects(
      swarmCaddy(engine(calls, { present: false, pullEvents: [{ error: 'pull access denied for caddy' }] })).start(),
      /Caddy's container cannot start: the engine has no image caddy:2-alpine and cannot pull it: pull access denied for caddy \(check PILOT_CADDY_IMAGE, or load the image into the manager's engine\)/,
    );
    assert.ok(!calls.some((call) => call.startsWith('create')), 'no container is made from a missing image');
  });
});

describe("the swarm Caddy's local CA (GET /ca.crt in swarm mode)", () => {
  it('is read from the container through the engine, under /data (Pilot may run on another machine)', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const asked: string[] = [];
    const docker = {
      getContainer: (name: string) => ({
        getArchive: async ({ path }: { path: string }) => {
          asked.push(`${name}:${path}`);
          const archive = tarStream.pack();
          archive.entry({ name: 'root.crt' }, pem);
          archive.finalize();
          return archive;
        },
      }),
    };
    const caddy = new SwarmCaddy(docker as unknown as Docker, options);
    assert.equal(await caddy.readFile(CONTAINER_LOCAL_CA), pem);
    assert.deepEqual(asked, ['pilot-caddy:/data/caddy/pki/authorities/local/root.crt']);
  });
});

describe("where Caddy's container reaches the control plane: the default bridge's gateway", () => {
  it('is the gateway the engine names', () => {
    assert.equal(gatewayOf([{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]), '172.17.0.1');
  });

  it("is the subnet's first address when the engine names none (daemon.json with default-address-pools, as install.sh writes it)", () => {
    assert.equal(gatewayOf([{ Subnet: '10.200.1.0/24' }]), '10.200.1.1');
    assert.equal(gatewayOf([{ Subnet: '10.200.1.77/20' }]), '10.200.0.1');
  });

  it('is unknown without an IPv4 subnet', () => {
    assert.equal(gatewayOf([]), undefined);
    assert.equal(gatewayOf([{ Subnet: 'fd00::/64' }]), undefined);
  });
});
