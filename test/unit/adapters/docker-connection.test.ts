import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerConnection } from '../../../src/adapters/docker/connection.js';
import { ConfigError } from '../../../src/domain/errors.js';

const none = { dockerHost: undefined, dockerTlsVerify: false, dockerCertPath: undefined, sshAuthSock: undefined };
const certs = (file: string): Buffer => Buffer.from(`contents of ${file}`);

describe('dockerConnection (DOCKER_HOST as the docker CLI reads it)', () => {
  it('takes the local socket, a unix socket and a plain tcp engine', () => {
    assert.deepEqual(dockerConnection(none, certs), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(dockerConnection({ ...none, dockerHost: 'unix:///run/user/1000/docker.sock' }, certs), { socketPath: '/run/user/1000/docker.sock' });
    assert.deepEqual(dockerConnection({ ...none, dockerHost: 'tcp://10.0.0.5:2375' }, certs), { protocol: 'http', host: '10.0.0.5', port: 2375 });
    assert.deepEqual(dockerConnection({ ...none, dockerHost: '10.0.0.5:2375' }, certs), { protocol: 'http', host: '10.0.0.5', port: 2375 });
  });

  it('speaks TLS with DOCKER_TLS_VERIFY or port 2376, with the client certificate of DOCKER_CERT_PATH', () => {
    const tls = dockerConnection({ ...none, dockerHost: 'tcp://docker.example.com:2376', dockerCertPath: '/etc/pilot/docker' }, certs);
    assert.equal(tls.protocol, 'https');
    assert.equal(tls.port, 2376);
    assert.equal(String(tls.ca), 'contents of /etc/pilot/docker/ca.pem');
    assert.equal(String(tls.cert), 'contents of /etc/pilot/docker/cert.pem');
    assert.equal(String(tls.key), 'contents of /etc/pilot/docker/key.pem');
    assert.equal(dockerConnection({ ...none, dockerHost: 'tcp://docker.example.com:4243', dockerTlsVerify: true, dockerCertPath: '/c' }, certs).protocol, 'https');
    const unreadable = () => dockerConnection({ ...none, dockerHost: 'tcp://h:2376', dockerCertPath: '/nowhere' }, () => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); });
    assert.throws(unreadable, (error: unknown) => error instanceof ConfigError && /\/nowhere\/ca\.pem cannot be read \(ENOENT\): set DOCKER_CERT_PATH/.test(error.message));
  });

  it('reaches an ssh engine through the agent', () => {
    assert.deepEqual(dockerConnection({ ...none, dockerHost: 'ssh://deploy@docker.example.com', sshAuthSock: '/run/ssh-agent.sock' }, certs), {
      protocol: 'ssh', host: 'docker.example.com', port: 22, username: 'deploy', sshOptions: { agent: '/run/ssh-agent.sock' },
    });
  });

  it('refuses what it does not speak, saying what it does', () => {
    for (const dockerHost of ['npipe:////./pipe/docker_engine', 'fd://', 'http://[bad']) {
      assert.throws(() => dockerConnection({ ...none, dockerHost }, certs), (error: unknown) => error instanceof ConfigError && /use unix:\/\/\/path\/docker\.sock, tcp:\/\/host:port .* or ssh:\/\/user@host/.test(error.message), dockerHost);
    }
  });
});
