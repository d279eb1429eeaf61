import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { manifestsToDelete, parseImageName, registryAddress, registryConfig } from '../../../../src/adapters/registry/plan.js';

describe('registryConfig', () => {
  const config = parse(registryConfig()) as Record<string, Record<string, unknown>>;

  it('serves TLS with the certificate Pilot copies in, and asks for the htpasswd user', () => {
    assert.deepEqual(config.http?.tls, { certificate: '/etc/docker/registry/server.crt', key: '/etc/docker/registry/server.key' });
    assert.equal(config.http?.addr, ':5000');
    assert.deepEqual(config.auth, { htpasswd: { realm: 'pilot-registry', path: '/etc/docker/registry/htpasswd' } });
  });

  it('allows deletes, keeps blobs in the volume, and has no blob cache that would outlive a garbage collection', () => {
    assert.deepEqual(config.storage, { filesystem: { rootdirectory: '/var/lib/registry' }, delete: { enabled: true } });
  });
});

describe('parseImageName', () => {
  it('splits a release image into its repository and tag', () => {
    assert.deepEqual(parseImageName('pilot/shop:v3'), { repository: 'pilot/shop', tag: 'v3' });
    assert.deepEqual(parseImageName('pt-1a/my-app--feature-x:v12'), { repository: 'pt-1a/my-app--feature-x', tag: 'v12' });
  });

  it('refuses names without a tag, with a digest, or of another registry', () => {
    for (const name of ['pilot/shop', 'pilot/shop@sha256:' + 'a'.repeat(64), 'registry.example.com/pilot/shop:v1', 'localhost:5000/pilot/shop:v1', 'localhost/shop:v1', 'Pilot/Shop:v1', ':v1']) {
      assert.equal(parseImageName(name), undefined, name);
    }
  });
});

describe('registryAddress', () => {
  it('joins host and port, an IPv6 address in brackets', () => {
    assert.equal(registryAddress('10.0.0.5', 5000), '10.0.0.5:5000');
    assert.equal(registryAddress('registry.example.com', 443), 'registry.example.com:443');
    assert.equal(registryAddress('fd00::5', 5000), '[fd00::5]:5000');
  });
});

describe('manifestsToDelete', () => {
  it('deletes the manifests of the tags not kept', () => {
    const tagged = [{ tag: 'v1', digest: 'sha256:1' }, { tag: 'v2', digest: 'sha256:2' }, { tag: 'v3', digest: 'sha256:3' }];
    assert.deepEqual(manifestsToDelete(tagged, ['v3', 'v2']), ['sha256:1']);
    assert.deepEqual(manifestsToDelete(tagged, []), ['sha256:1', 'sha256:2', 'sha256:3']);
    assert.deepEqual(manifestsToDelete(tagged, ['v1', 'v2', 'v3', 'v9']), []);
  });

  it('keeps a manifest that a kept tag shares with a deleted one (a delete takes every tag of it)', () => {
    const tagged = [{ tag: 'v1', digest: 'sha256:same' }, { tag: 'v2', digest: 'sha256:other' }, { tag: 'v4', digest: 'sha256:same' }, { tag: 'v5', digest: 'sha256:other' }];
    assert.deepEqual(manifestsToDelete(tagged, ['v4']), ['sha256:other']);
  });
});
