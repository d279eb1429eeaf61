import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCaddyfileContext, type RouteSettings } from '../../../src/pipeline/routes.js';
import { createTemplateRenderer } from '../../../src/adapters/templates.js';
import { streamCloseDelayFor } from '../../../src/adapters/caddy/version.js';

const settings: RouteSettings = {
  adminAddress: 'unix//var/lib/pilot/caddy/admin.sock',
  domain: 'example.com',
  httpPort: 80,
  httpsPort: 443,
  tls: 'acme',
  acmeEmail: 'ops@example.com',
  controlPlaneUpstream: '127.0.0.1:3000',
  streamCloseDelay: undefined,
};

describe('buildCaddyfileContext', () => {
  it('routes each app with upstreams, sorted by name, and the control plane at pilot.<domain>', () => {
    const context = buildCaddyfileContext(settings, [
      { id: 1, name: 'zeta', hosts: ['zeta.example.com'], upstreams: ['172.18.0.3:5000'] },
      { id: 2, name: 'alpha', hosts: ['alpha.example.com', 'www.alpha.org'], upstreams: ['172.18.0.2:5000', '172.18.0.4:5000'] },
      { id: 3, name: 'idle', hosts: ['idle.example.com'], upstreams: [] },
    ]);
    assert.deepEqual(context.controlPlane, { sites: 'pilot.example.com', upstream: '127.0.0.1:3000' });
    assert.deepEqual(context.apps, [
      { name: 'alpha', sites: 'alpha.example.com, www.alpha.org', upstreams: '172.18.0.2:5000 172.18.0.4:5000' },
      { name: 'zeta', sites: 'zeta.example.com', upstreams: '172.18.0.3:5000' },
    ]);
    assert.equal(context.acmeEmail, 'ops@example.com');
    assert.equal(context.localCerts, false);
  });

  it('serves plain HTTP site addresses when TLS is off and uses local certificates when internal', () => {
    const off = buildCaddyfileContext({ ...settings, tls: 'off' }, [{ id: 4, name: 'a', hosts: ['a.example.com'], upstreams: ['1.2.3.4:5'] }]);
    assert.equal(off.apps[0]?.sites, 'http://a.example.com');
    assert.equal(off.tlsOff, true);
    const internal = buildCaddyfileContext({ ...settings, tls: 'internal' }, []);
    assert.equal(internal.localCerts, true);
    assert.equal(internal.acmeEmail, undefined);
  });

  it('answers on-demand TLS from the rendered names: the control plane and every routed host, nothing when TLS is off or nothing is served', () => {
    const routes = [
      { id: 5, name: 'web', hosts: ['web.example.com', 'WWW.Shop.org'], upstreams: ['10.0.0.2:5000'] },
      { id: 6, name: 'idle', hosts: ['idle.example.com'], upstreams: [] },
    ];
    assert.deepEqual(buildCaddyfileContext(settings, routes).onDemand, {
      askUrl: 'http://127.0.0.1:80/tls/ask',
      askPath: '/tls/ask',
      askQuery: 'domain=pilot.example.com domain=web.example.com domain=www.shop.org',
    });
    assert.equal(buildCaddyfileContext({ ...settings, tls: 'off' }, routes).onDemand, undefined);
    assert.equal(buildCaddyfileContext({ ...settings, controlPlaneUpstream: undefined }, routes).onDemand?.askQuery, 'domain=web.example.com domain=www.shop.org');
    assert.equal(buildCaddyfileContext({ ...settings, controlPlaneUpstream: undefined }, []).onDemand, undefined);
  });
});

describe('Caddyfile.tmpl', () => {
  it('renders a site block per app with its upstreams', () => {
    const text = createTemplateRenderer().renderCaddyfile(
      buildCaddyfileContext({ ...settings, tls: 'internal' }, [{ id: 7, name: 'web', hosts: ['web.example.com'], upstreams: ['10.0.0.2:5000'] }]),
    );
    assert.match(text, /admin unix\/\/var\/lib\/pilot\/caddy\/admin\.sock/);
    assert.match(text, /local_certs/);
    assert.match(text, /on_demand_tls \{\n\t\task http:\/\/127\.0\.0\.1:80\/tls\/ask\n\t\}/);
    assert.match(text, /http:\/\/127\.0\.0\.1:80 \{\n\t@served \{\n\t\tremote_ip 127\.0\.0\.1\/8 ::1\n\t\tpath \/tls\/ask\n\t\tquery domain=pilot\.example\.com domain=web\.example\.com\n\t\}\n\trespond @served 200\n\trespond 404\n\}/);
    assert.match(text, /pilot\.example\.com \{\n\ttls \{\n\t\ton_demand\n\t\}\n\treverse_proxy 127\.0\.0\.1:3000/);
    assert.match(text, /web\.example\.com \{\n\ttls \{\n\t\ton_demand\n\t\}\n\treverse_proxy 10\.0\.0\.2:5000\n\}/);
  });

  it('keeps WebSockets open across reloads with stream_close_delay where Caddy has it', () => {
    const text = createTemplateRenderer().renderCaddyfile(
      buildCaddyfileContext({ ...settings, streamCloseDelay: '5m' }, [{ id: 8, name: 'web', hosts: ['web.example.com'], upstreams: ['10.0.0.2:5000'] }]),
    );
    assert.match(text, /\treverse_proxy 10\.0\.0\.2:5000 \{\n\t\tstream_close_delay 5m\n\t\}\n\}/);
  });

  it('leaves on-demand certificates out when TLS is off', () => {
    const text = createTemplateRenderer().renderCaddyfile(
      buildCaddyfileContext({ ...settings, tls: 'off' }, [{ id: 9, name: 'web', hosts: ['web.example.com'], upstreams: ['10.0.0.2:5000'] }]),
    );
    assert.doesNotMatch(text, /on_demand/);
    assert.match(text, /http:\/\/web\.example\.com \{\n\treverse_proxy 10\.0\.0\.2:5000\n\}/);
  });
});

describe("each app's access log (the router lines of pilot logs)", () => {
  const route = { id: 7, name: 'web', hosts: ['web.example.com'], upstreams: ['10.0.0.2:5000'] };

  it("goes to the app's own file on one host, without headers or user", () => {
    const text = createTemplateRenderer().renderCaddyfile(buildCaddyfileContext({ ...settings, accessLogDir: '/var/lib/pilot/caddy/access' }, [route]));
    assert.match(text, /output file \/var\/lib\/pilot\/caddy\/access\/app-7\.log \{\n\t\t\troll_size 5MiB/);
    assert.match(text, /user_id delete/);
    assert.doesNotMatch(text, /output stdout/);
  });

  it("goes to the output of Caddy's container in swarm mode, each entry tagged with its app", () => {
    const text = createTemplateRenderer().renderCaddyfile(buildCaddyfileContext({ ...settings, accessLogDir: '/var/lib/pilot/caddy/access', accessLogToOutput: true }, [route]));
    assert.match(text, /\t\toutput stdout\n/);
    assert.match(text, /\t\t\t\tuser_id replace pilot-app-7\n/);
    assert.match(text, /request>headers delete/);
    assert.doesNotMatch(text, /output file|user_id delete/);
  });
});

describe('streamCloseDelayFor', () => {
  it('is set from Caddy 2.7 on and left out before or when the version is unknown', () => {
    assert.equal(streamCloseDelayFor('2.7.0'), '5m');
    assert.equal(streamCloseDelayFor('2.10.2'), '5m');
    assert.equal(streamCloseDelayFor('2.6.2'), undefined);
    assert.equal(streamCloseDelayFor(undefined), undefined);
  });
});
