import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { ConfigError } from '../../domain/errors.js';

export interface DockerConnectionSettings {
  readonly dockerHost: string | undefined;
  readonly dockerTlsVerify: boolean;
  readonly dockerCertPath: string | undefined;
  readonly sshAuthSock: string | undefined;
}

/**
 * dockerode's options for DOCKER_HOST as the docker CLI reads it: unset (the local socket),
 * `unix:///path`, `tcp://host[:port]` (TLS with DOCKER_TLS_VERIFY=1 or port 2376, the client
 * certificate from DOCKER_CERT_PATH, else ~/.docker) and `ssh://[user@]host[:port]` (through
 * the ssh agent, SSH_AUTH_SOCK; the remote user must be allowed to run `docker system
 * dial-stdio`). Anything else is refused at start with what is supported.
 */
export function dockerConnection(settings: DockerConnectionSettings, readFile: (file: string) => Buffer): Docker.DockerOptions {
  const host = settings.dockerHost;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  let url: URL;
  try {
    url = new URL(host.includes('//') ? host : `tcp://${host}`);
  } catch {
    throw unsupported(host);
  }
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      sshOptions: settings.sshAuthSock ? { agent: settings.sshAuthSock } : {},
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') throw unsupported(host);
  const tls = settings.dockerTlsVerify || url.protocol === 'https:' || url.port === '2376';
  if (!tls) return { protocol: 'http', host: url.hostname, port: Number(url.port || 2375) };
  const certs = settings.dockerCertPath ?? path.join(os.homedir(), '.docker');
  const read = (name: string): Buffer => {
    try {
      return readFile(path.join(certs, name));
    } catch (error) {
      throw new ConfigError([`DOCKER_HOST ${host} is spoken to over TLS, but ${path.join(certs, name)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): set DOCKER_CERT_PATH to the directory of ca.pem, cert.pem and key.pem`]);
    }
  };
  return { protocol: 'https', host: url.hostname, port: Number(url.port || 2376), ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

function unsupported(host: string): ConfigError {
  return new ConfigError([`DOCKER_HOST ${JSON.stringify(host)} is not one Pilot speaks to: use unix:///path/docker.sock, tcp://host:port (TLS with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH) or ssh://user@host`]);
}
