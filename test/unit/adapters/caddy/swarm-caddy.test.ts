import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildCaddyfileContext, type RouteSettings } from '../../../../src/pipeline/routes.js';
import { createTemplateRenderer } from '../../../../src/adapters/templates.js';
import type Docker from 'dockerode';
import { CONTAINER_ADMIN_ADDRESS, SwarmCaddy, bootScript, containerSpec, type SwarmCaddyOptions } from '../../../../src/adapters/caddy/swarm-caddy.js';

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
  it("keeps /data on the instance's named volume", () => {
    assert.deepEqual(containerSpec(options).HostConfig?.Mounts, [{ Type: 'volume', Source: 'pilot-caddy-data', Target: '/data' }]);
  });

  it('bounds its output, which carries every access log entry', () => {
    assert.deepEqual(containerSpec(options).HostConfig?.LogConfig, { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
  });

  it('hands the connections queued at a route reload to the new listener instead of resetting them', () => {
    assert.deepEqual(containerSpec(options).HostConfig?.Sysctls, { 'net.ipv4.tcp_migrate_req': '1' });
  });

  it("joins, after it started, every app overlay of the instance it is not on yet", async () => {
    const calls: string[] = [];
    const networks: Record<string, string[]> = { 'pilot-shop-net': [], 'pilot-blog-net': ['pilot-caddy'] };
    const container = { inspect: async () => { throw Object.assign(new Error('no such container'), { statusCode: 404 }); }, start: async () => void calls.push('start') };
    const docker = {
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
    const caddy = new SwarmCaddy(docker as unknown as Docker, options);
    (caddy.admin as { reachable: () => Promise<boolean> }).reachable = async () => true;
    await caddy.start();
    assert.deepEqual(calls, ['volume pilot-caddy-data', 'create pilot-caddy', 'start', 'list pilot.instance=pilot overlay', 'connect pilot-caddy to pilot-shop-net']);
  });
});
