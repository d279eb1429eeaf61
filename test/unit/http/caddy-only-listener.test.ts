import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { CaddyOnlyConnections, listenForCaddy } from '../../../src/http/caddy-only-listener.js';
import { TEST_ADMIN_TOKEN, TEST_PROXY_KEY, buildTestApp } from '../../helpers/api.js';

/** One raw HTTP/1.1 request on a new connection; resolves with what came back once the server closed it or answered. */
function rawRequest(upstream: string, head: string): Promise<{ text: string; closed: boolean }> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.write(head));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // An answer that keeps the connection: its body is whole once Content-Length bytes came.
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      const body = text.indexOf('\r\n\r\n');
      if (!/connection: close/i.test(text) && length && body >= 0 && text.length - body - 4 >= Number(length)) {
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, closed: true }));
  });
}

describe('the Caddy-only address of the control plane (swarm mode)', () => {
  it('knows a peer while its connection is open, and forgets it after the last one closed', () => {
    const connections = new CaddyOnlyConnections();
    const socket = (remoteAddress: string) => Object.assign(new EventEmitter(), { remoteAddress }) as unknown as net.Socket;
    const [first, second] = [socket('10.0.9.2'), socket('10.0.9.2')];
    connections.admit(first);
    connections.admit(second);
    assert.equal(connections.isPeer('10.0.9.2'), true);
    assert.equal(connections.carries(first), true);
    assert.equal(connections.carries(socket('10.0.9.2')), false, 'a connection accepted elsewhere');
    first.emit('close');
    assert.equal(connections.isPeer('10.0.9.2'), true, 'one still open');
    second.emit('close');
    assert.equal(connections.isPeer('10.0.9.2'), false);
  });

  it("refuses a request without the proxy key there, closing, and answers Caddy's own", async (t) => {
    const caddyOnly = new CaddyOnlyConnections();
    const { app } = await buildTestApp(t, { caddyOnly });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const listener = await listenForCaddy(app.server, caddyOnly, '127.0.0.1', 16);
    t.after(() => listener.close());
    assert.match(listener.upstream, /^127\.0\.0\.1:\d+$/);
    const whoami = (headers: string) => rawRequest(listener.upstream, `GET /api/v1/whoami HTTP/1.1\r\nHost: pilot.pilot.test\r\nAuthorization: Bearer ${TEST_ADMIN_TOKEN}\r\n${headers}\r\n`);

    const refused = await whoami('');
    assert.match(refused.text, /^HTTP\/1\.1 403 /);
    assert.match(refused.text, /serves Pilot's own Caddy only/);
    assert.equal(refused.closed, true, 'the connection closes after the refusal');
    const wrongKey = await whoami('X-Pilot-Proxy-Key: not-the-key\r\n');
    assert.match(wrongKey.text, /^HTTP\/1\.1 403 /);

    const fromCaddy = await whoami(`X-Pilot-Proxy-Key: ${TEST_PROXY_KEY}\r\nX-Forwarded-For: 198.51.100.9\r\n`);
    assert.match(fromCaddy.text, /^HTTP\/1\.1 200 /, fromCaddy.text);
    // The main address is untouched: no key needed there.
    const direct = await fetch(`http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}/api/v1/whoami`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    assert.equal(direct.status, 200);
  });

  it('says why when it cannot listen on the address', async (t) => {
    const caddyOnly = new CaddyOnlyConnections();
    const { app } = await buildTestApp(t, { caddyOnly });
    // TEST-NET-3: never an address of this machine.
    await assert.rejects(listenForCaddy(app.server, caddyOnly, '203.0.113.1', 16), (error: NodeJS.ErrnoException) => error.code === 'EADDRNOTAVAIL');
  });
});
