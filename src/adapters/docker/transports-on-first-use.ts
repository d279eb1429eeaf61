/**
 * dockerode loads, when it is imported, two transports an idle Pilot never uses: ssh2 (for an
 * `ssh://` DOCKER_HOST; its WebAssembly poly1305 alone takes ~15 MiB) and gRPC with protobufjs
 * (for BuildKit sessions; Pilot builds with the classic builder). Imported before dockerode
 * (first import of every module that imports it), this module puts stand-ins for them in the
 * CommonJS module cache that load the real module at its first use: an `ssh://` engine or a
 * BuildKit session work as before, and a server that uses neither does not hold them
 * (bench/RESULTS.md: 12 MiB of idle RSS).
 */
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const fromDockerode = createRequire(require.resolve('dockerode'));
const fromModem = createRequire(fromDockerode.resolve('docker-modem'));

/** Puts `exports` in the module cache as the module in `file`, unless it is loaded already. */
function standIn(file: string, exports: unknown): void {
  if (require.cache[file]) return;
  const placeholder = new Module(file);
  placeholder.filename = file;
  placeholder.loaded = true;
  placeholder.exports = exports;
  require.cache[file] = placeholder;
}

/** The real module in `file`, loaded in place of its stand-in. */
function loadReal(file: string): Record<string, unknown> {
  delete require.cache[file];
  return require(file) as Record<string, unknown>;
}

/** A module whose properties are the real one's, loaded at the first property read (gRPC: `grpc.Server` inside a session). */
function onFirstRead(file: string): void {
  let real: Record<string, unknown> | undefined;
  standIn(file, new Proxy({}, { get: (_, key) => (real ??= loadReal(file))[key as string] }));
}

// docker-modem reads `require('ssh2').Client` as it loads, and calls `new Client()` only for ssh://.
const ssh2 = fromModem.resolve('ssh2');
let realSsh2: { Client: new (...args: unknown[]) => object } | undefined;
standIn(ssh2, {
  Client: class {
    constructor(...args: unknown[]) {
      realSsh2 ??= loadReal(ssh2) as unknown as typeof realSsh2 & object;
      return new realSsh2.Client(...args);
    }
  },
});
onFirstRead(fromDockerode.resolve('@grpc/grpc-js'));
onFirstRead(fromDockerode.resolve('@grpc/proto-loader'));
