import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkBranch, checkCredential, checkRepoUrl } from '../../../src/pipeline/repo-url.js';

describe('repository URLs, branches and credentials', () => {
  it('takes https URLs of a host', () => {
    for (const url of ['https://github.com/acme/shop.git', 'https://gitlab.example.com:8443/group/sub/shop', 'https://127.0.0.1:4443/site.git']) assert.equal(checkRepoUrl(url), url);
    assert.equal(checkRepoUrl('  https://github.com/acme/shop.git\n'), 'https://github.com/acme/shop.git');
  });

  it('refuses other protocols, local paths and URLs that carry a credential, saying how to give one', () => {
    const cases: [string, RegExp][] = [
      ['http://github.com/acme/shop.git', /over https:\/\/ only, not http/],
      ['git@github.com:acme/shop.git', /is not a URL/],
      ['ssh://git@github.com/acme/shop.git', /is not a URL|https:\/\/ only/],
      ['file:///var/lib/pilot/repos/other.git', /https:\/\/ only, not file/],
      ['/var/lib/pilot/repos/other.git', /is not a URL/],
      ['../other.git', /is not a URL/],
      ['ext::sh -c touch% /tmp/pwned', /is not a URL|https:\/\/ only/],
      ['https://x-access-token:ghp_secret@github.com/acme/shop.git', /holds a credential: .*--credential-stdin/],
      ['https://user@github.com/acme/shop.git', /holds a credential/],
      ['https://github.com/acme/shop.git#main', /#fragment/],
      ['', /1 to 2048 characters/],
      [`https://github.com/${'a'.repeat(2100)}`, /1 to 2048 characters/],
    ];
    for (const [url, message] of cases) assert.throws(() => checkRepoUrl(url), message, url);
    // The refusal of a URL with a credential never repeats it.
    assert.throws(() => checkRepoUrl('https://u:ghp_secret@github.com/a.git'), (error: Error) => !error.message.includes('ghp_secret'));
  });

  it('takes the branch names git takes and refuses the others', () => {
    for (const branch of ['main', 'release/2024-01', 'feature/a.b', 'v1.x']) assert.equal(checkBranch(branch), branch);
    for (const branch of ['', '-rf', 'a..b', 'a b', 'a:b', 'a~1', 'a^', 'x*', 'a[b', 'a\\b', '/main', 'main/', 'main.', 'a//b', '.hidden', 'x/.y', 'main.lock', 'a@{1}', '@', 'a\nb', 'x'.repeat(256)]) {
      assert.throws(() => checkBranch(branch), /is not a branch name/, JSON.stringify(branch));
    }
  });

  it('takes a token or user:token, not a line break', () => {
    assert.equal(checkCredential(' ghp_abc \n'), 'ghp_abc');
    assert.equal(checkCredential('oauth2:glpat-xyz'), 'oauth2:glpat-xyz');
    assert.throws(() => checkCredential('a\nb'), /line break/);
    assert.throws(() => checkCredential('   '), /1 to 4096/);
  });
});
