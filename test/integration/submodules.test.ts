import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createSubmoduleFetcher } from '../../src/adapters/submodules.js';
import { integrationSkipReason, tempDir } from '../helpers/integration.js';
import { gitAuthorEnv, startHttpsGitServer, type HttpsGitServer } from '../helpers/https-git-server.js';
import type { Submodule } from '../../src/domain/ports.js';

const skip = integrationSkipReason();
const MB = 1024 * 1024;

describe('submodule fetcher: real git against a real HTTPS git server', { skip }, () => {
  let server: HttpsGitServer;
  let pinned: string;
  let head: string;

  before(async () => {
    server = await startHttpsGitServer();
    pinned = server.createRepository('lib', { 'index.js': "module.exports = 'pinned';\n", 'sub/data.txt': 'data\n' });
    // A later commit on the server: the fetch must take the pinned one, not the branch head.
    const work = tempDir('lib-next');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: gitAuthorEnv(), encoding: 'utf8' }).trim();
    git('clone', '--quiet', path.join(server.root, 'lib.git'), '.');
    fs.writeFileSync(path.join(work, 'index.js'), "module.exports = 'later';\n");
    git('commit', '--quiet', '-am', 'later');
    git('push', '--quiet', 'origin', 'main');
    head = git('rev-parse', 'HEAD');
  });
  after(async () => {
    await server?.close();
  });

  function buildDir(): string {
    const dir = tempDir('submodule-build');
    fs.mkdirSync(path.join(dir, 'app', 'vendor', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'app', 'package.json'), '{}');
    return dir;
  }

  const lib = (overrides: Partial<Submodule> = {}): Submodule => ({ name: 'lib', path: 'vendor/lib', sha: pinned, url: `${server.baseUrl}/lib.git`, ...overrides });

  it('fetches the pinned commit over https into the submodule path', async () => {
    const dir = buildDir();
    const fetcher = createSubmoduleFetcher({ timeoutSeconds: 60, caFile: server.caFile });
    const result = await fetcher.fetch(dir, lib(), 10 * MB);
    assert.deepEqual(result, { nested: [] });
    assert.notEqual(pinned, head);
    assert.equal(fs.readFileSync(path.join(dir, 'app', 'vendor', 'lib', 'index.js'), 'utf8'), "module.exports = 'pinned';\n");
    assert.equal(fs.readFileSync(path.join(dir, 'app', 'vendor', 'lib', 'sub', 'data.txt'), 'utf8'), 'data\n');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['app'], 'the fetch repository is removed');
  });

  it('refuses relative, SSH, file:// and local-path URLs without running git', async () => {
    const fetcher = createSubmoduleFetcher({ timeoutSeconds: 60 });
    // Each would reach a real repository on this machine if git ran.
    const local = path.join(server.root, 'lib.git');
    for (const url of ['../lib.git', local, `file://${local}`, 'git@127.0.0.1:lib.git', `http://127.0.0.1/lib.git`]) {
      const dir = buildDir();
      await assert.rejects(fetcher.fetch(dir, lib({ url }), 10 * MB), /submodule lib \(vendor\/lib\): Pilot fetches submodules only over https:\/\/; nothing was deployed/);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'app', 'vendor', 'lib')), [], url);
    }
  });

  it("fails with git's reason, the path and the URL when the commit or the repository is not there", async () => {
    const fetcher = createSubmoduleFetcher({ timeoutSeconds: 60, caFile: server.caFile });
    await assert.rejects(fetcher.fetch(buildDir(), lib({ sha: 'f'.repeat(40) }), 10 * MB), (error: Error) => {
      assert.match(error.message, new RegExp(`submodule lib \\(vendor/lib\\) could not be fetched from ${server.baseUrl}/lib\\.git at fffffff: git says: .*fatal`));
      return true;
    });
    await assert.rejects(fetcher.fetch(buildDir(), lib({ url: `${server.baseUrl}/missing.git` }), 10 * MB), /could not be fetched from .*missing\.git at .*: git says: .*(not found|404)/);
  });

  it('verifies the server certificate: without the test CA the fetch fails', async () => {
    const fetcher = createSubmoduleFetcher({ timeoutSeconds: 60 });
    await assert.rejects(fetcher.fetch(buildDir(), lib(), 10 * MB), /git says: .*(certificate|SSL)/i);
  });

  it('refuses a submodule that makes the whole tree larger than the push limit', async () => {
    const dir = buildDir();
    fs.writeFileSync(path.join(dir, 'app', 'big.bin'), Buffer.alloc(MB - 10));
    const fetcher = createSubmoduleFetcher({ timeoutSeconds: 60, caFile: server.caFile });
    await assert.rejects(fetcher.fetch(dir, lib(), MB), /the push with its submodules is larger than 1 MB \(PILOT_MAX_PUSH_MB\): submodule lib \(vendor\/lib\) does not fit; nothing was deployed/);
  });
});
