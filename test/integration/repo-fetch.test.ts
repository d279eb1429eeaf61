import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import { createRepositoryFetcher } from '../../src/adapters/repo-fetch.js';
import { integrationSkipReason, tempDir } from '../helpers/integration.js';
import { startHttpsGitServer, type HttpsGitServer } from '../helpers/https-git-server.js';

const skip = integrationSkipReason();
const MB = 1024 * 1024;

describe('repository fetcher: real git against real HTTPS git servers', { skip }, () => {
  let open: HttpsGitServer;
  let closed: HttpsGitServer;
  let head: string;
  const workDir = tempDir('repo-fetch');

  before(async () => {
    open = await startHttpsGitServer();
    closed = await startHttpsGitServer({ auth: { user: 'x-access-token', password: 'tok-123' } });
    open.createRepository('site', { 'index.html': 'v1', 'sub/a.txt': 'a' });
    head = open.commit('site', { 'index.html': 'v2' });
    open.commit('site', { 'index.html': 'other' }, 'feature');
    closed.createRepository('private', { 'index.html': 'private' });
  });
  after(async () => {
    await open?.close();
    await closed?.close();
  });

  const fetcher = (caFile: string) => createRepositoryFetcher({ workDir, timeoutSeconds: 30, caFile });

  async function unpack(tar: NodeJS.ReadableStream): Promise<string> {
    const dir = tempDir('unpacked');
    await pipeline(tar, tarFs.extract(dir) as unknown as NodeJS.WritableStream);
    return dir;
  }

  it("fetches the branch's head shallow and gives its tree as git archive, leaving nothing behind", async () => {
    const fetched = await fetcher(open.caFile).fetchBranch({ url: `${open.baseUrl}/site.git`, branch: 'main', credential: null, maxBytes: 10 * MB });
    assert.equal(fetched.sha, head);
    assert.equal(fetched.submoduleManifest, undefined);
    const dir = await unpack(fetched.tar);
    assert.equal(fs.readFileSync(path.join(dir, 'index.html'), 'utf8'), 'v2');
    assert.equal(fs.readFileSync(path.join(dir, 'sub/a.txt'), 'utf8'), 'a');
    await fetched.remove();
    assert.deepEqual(fs.readdirSync(workDir), []);
    assert.ok(open.authorizations.every((header) => header === undefined), 'no credential sent to a public repository');
  });

  it('stops git archive quietly when the tree is removed unread (a deploy refused before its build)', async () => {
    const errors: Error[] = [];
    for (let round = 0; round < 5; round += 1) {
      const fetched = await fetcher(open.caFile).fetchBranch({ url: `${open.baseUrl}/site.git`, branch: 'main', credential: null, maxBytes: 10 * MB });
      fetched.tar.on('error', (error: Error) => errors.push(error));
      await fetched.remove();
      await new Promise<void>((resolve) => {
        const stream = fetched.tar as NodeJS.ReadableStream & { closed?: boolean };
        if (stream.closed) resolve();
        else stream.once('close', () => resolve());
      });
    }
    assert.deepEqual(errors.map((error) => error.message), []);
    assert.deepEqual(fs.readdirSync(workDir), []);
  });

  it('sends the credential as Basic auth to a private repository, and says when it is missing or refused', async () => {
    const url = `${closed.baseUrl}/private.git`;
    const fetched = await fetcher(closed.caFile).fetchBranch({ url, branch: 'main', credential: 'tok-123', maxBytes: 10 * MB });
    assert.match(fetched.sha, /^[0-9a-f]{40}$/);
    await fetched.remove();
    await assert.rejects(fetcher(closed.caFile).fetchBranch({ url, branch: 'main', credential: null, maxBytes: 10 * MB }), /asks for a credential: the repository is private or does not exist; give one with `pilot apps:repo:set URL --credential-stdin`/);
    await assert.rejects(
      fetcher(closed.caFile).fetchBranch({ url, branch: 'main', credential: 'wrong-token', maxBytes: 10 * MB }),
      (error: Error) => /refused the credential/.test(error.message) && !error.message.includes('wrong-token'),
    );
    assert.deepEqual(fs.readdirSync(workDir), []);
  });

  it('says what is wrong with a missing branch, a missing repository, an unknown host, an untrusted certificate and a branch too large', async () => {
    const base = { credential: null, maxBytes: 10 * MB };
    const cases: [Parameters<ReturnType<typeof fetcher>['fetchBranch']>[0], string, RegExp][] = [
      [{ ...base, url: `${open.baseUrl}/site.git`, branch: 'nope' }, open.caFile, /cannot fetch nope of https:.*site\.git: there is no branch nope in the repository/],
      [{ ...base, url: `${open.baseUrl}/missing.git`, branch: 'main' }, open.caFile, /there is no repository at https:.*missing\.git \(a private one needs a credential\)/],
      [{ ...base, url: 'https://no-such-host.invalid/a.git', branch: 'main' }, open.caFile, /cannot resolve the host no-such-host\.invalid/],
      [{ ...base, url: `${open.baseUrl}/site.git`, branch: 'main' }, closed.caFile, /the TLS certificate of 127\.0\.0\.1:\d+ is not trusted/],
      [{ ...base, url: `${open.baseUrl}/site.git`, branch: 'main', maxBytes: 200 }, open.caFile, /larger than 0 MB \(PILOT_MAX_PUSH_MB\)/],
    ];
    for (const [request, caFile, message] of cases) await assert.rejects(fetcher(caFile).fetchBranch(request), message, request.url);
    assert.deepEqual(fs.readdirSync(workDir), []);
  });

  it('refuses a URL that is not https before running git', async () => {
    await assert.rejects(fetcher(open.caFile).fetchBranch({ url: 'file:///etc', branch: 'main', credential: null, maxBytes: MB }), /https:\/\/ only/);
  });
});
