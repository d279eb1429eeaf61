import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildCaddyfileContext, type RouteSettings } from '../../../../src/pipeline/routes.js';
import { createTemplateRenderer } from '../../../../src/adapters/templates.js';
import { CONTAINER_ADMIN_ADDRESS, bootScript, containerSpec, type SwarmCaddyOptions } from '../../../../src/adapters/caddy/swarm-caddy.js';

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
