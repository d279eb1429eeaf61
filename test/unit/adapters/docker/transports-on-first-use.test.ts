import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import '../../../../src/adapters/docker/transports-on-first-use.js';

const require = createRequire(import.meta.url);
const fromDockerode = createRequire(require.resolve('dockerode'));
const fromModem = createRequire(fromDockerode.resolve('docker-modem'));

it("ssh2 and gRPC stay unloaded until used, and then are the real modules (an ssh:// engine and BuildKit sessions work)", () => {
  const ssh2File = fromModem.resolve('ssh2');
  const grpcFile = fromDockerode.resolve('@grpc/grpc-js');
  assert.equal(require.cache[ssh2File]?.loaded, true);
  assert.equal(require.cache[grpcFile]?.children.length ?? 0, 0, 'the stand-in has loaded nothing');

  const { Client } = fromModem('ssh2') as { Client: new () => { connect: unknown; on: unknown } };
  const client = new Client();
  assert.equal(typeof client.connect, 'function', 'a real ssh2 Client');
  assert.equal(typeof client.on, 'function');

  const grpc = fromDockerode('@grpc/grpc-js') as { Server: unknown; credentials: unknown };
  assert.equal(typeof grpc.Server, 'function', 'the real grpc-js Server');
  assert.equal(typeof grpc.credentials, 'object');
});
