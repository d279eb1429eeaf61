import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explainGitError, gitEnvironment } from '../../../src/adapters/repo-fetch.js';

describe('repository fetcher: what git is given and what its errors mean', () => {
  it('gives git the credential as an Authorization header for the URL\'s host, in its environment only, without prompts or user config', () => {
    const env = gitEnvironment('/tmp/x', undefined, { url: 'https://git.example.com:8443/acme/shop.git', credential: 'ghp_token' });
    assert.equal(env.GIT_CONFIG_COUNT, '1');
    assert.equal(env.GIT_CONFIG_KEY_0, 'http.https://git.example.com:8443/.extraHeader');
    assert.equal(env.GIT_CONFIG_VALUE_0, `Authorization: Basic ${Buffer.from('x-access-token:ghp_token').toString('base64')}`);
    assert.equal(gitEnvironment('/tmp/x', undefined, { url: 'https://gitlab.com/a/b.git', credential: 'oauth2:glpat-1' }).GIT_CONFIG_VALUE_0, `Authorization: Basic ${Buffer.from('oauth2:glpat-1').toString('base64')}`);
    assert.equal(env.GIT_TERMINAL_PROMPT, '0');
    assert.equal(env.GIT_ALLOW_PROTOCOL, 'https');
    assert.equal(env.GIT_CONFIG_GLOBAL, '/dev/null');
    assert.equal(env.GIT_CONFIG_NOSYSTEM, '1');
    const none = gitEnvironment('/tmp/x', '/etc/ca.pem');
    assert.equal(none.GIT_CONFIG_COUNT, undefined);
    assert.equal(none.GIT_SSL_CAINFO, '/etc/ca.pem');
    assert.ok(!Object.values(none).some((value) => value?.includes('Authorization')));
  });

  it("turns git's errors into what to do", () => {
    const request = { url: 'https://git.example.com/acme/shop.git', branch: 'main', credential: false };
    const cases: [string, boolean, RegExp][] = [
      ["fatal: unable to access 'https://git.example.com/acme/shop.git/': Could not resolve host: git.example.com", false, /^cannot resolve the host git\.example\.com: check the URL$/],
      ["fatal: unable to access '...': Failed to connect to git.example.com port 443: Connection refused", false, /^cannot connect to git\.example\.com$/],
      ["fatal: unable to access '...': SSL certificate problem: self-signed certificate", false, /not trusted .*PILOT_REPO_CA_FILE/],
      ['fatal: couldn\'t find remote ref refs/heads/main', false, /^there is no branch main in the repository/],
      ["fatal: could not read Username for 'https://git.example.com': terminal prompts disabled", false, /asks for a credential: the repository is private or does not exist; give one with/],
      ["remote: Invalid username or password.\nfatal: Authentication failed for 'https://git.example.com/acme/shop.git/'", true, /refused the credential \(wrong, expired, or without read access/],
      ["remote: Repository not found.\nfatal: repository 'https://git.example.com/acme/shop.git/' not found", false, /^there is no repository at https:\/\/git\.example\.com\/acme\/shop\.git \(a private one needs a credential\)/],
      ['error: RPC failed; curl 92 HTTP/2 stream 0 was not closed cleanly\nfatal: early EOF', false, /^git says: error: RPC failed; .*; fatal: early EOF$/],
    ];
    for (const [stderr, credential, message] of cases) assert.match(explainGitError(stderr, { ...request, credential }), message, stderr);
  });
});
