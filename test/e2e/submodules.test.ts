import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GitClient, integrationSkipReason, tempDir, type GitResult } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { startHttpsGitServer, type HttpsGitServer } from '../helpers/https-git-server.js';

const skip = integrationSkipReason();

describe('git submodules (real git over HTTPS, Docker and Caddy)', { skip }, () => {
  let gitServer: HttpsGitServer;
  let pilot: TestPilot;
  let client: GitClient;
  let sitePinned: string;

  before(async () => {
    gitServer = await startHttpsGitServer();
    sitePinned = gitServer.createRepository('site', { 'index.html': '<!doctype html><h1>page from the submodule</h1>' });
    pilot = await startTestPilot({ PILOT_SUBMODULE_CA_FILE: gitServer.caFile });
    client = new GitClient(tempDir('submodules'));
    await client.init();
  });
  after(async () => {
    await pilot?.close();
    await gitServer?.close();
  });

  /** Commits the tree with these submodules (path → url and pinned commit) as its gitlinks, as `git submodule add` would. */
  async function commitWithSubmodules(submodules: Record<string, { url: string; sha: string }>, message: string): Promise<void> {
    const staged = await client.ok(['ls-files', '--stage']);
    const previous = staged.split('\n').filter((line) => line.startsWith('160000 ')).map((line) => line.slice(line.indexOf('\t') + 1));
    if (previous.length > 0) await client.ok(['rm', '--cached', '--quiet', '--', ...previous]);
    const gitmodules = Object.entries(submodules).map(([where, { url }]) => `[submodule "${where}"]\n\tpath = ${where}\n\turl = ${url}\n`).join('');
    fs.writeFileSync(path.join(client.workDir, '.gitmodules'), gitmodules);
    fs.writeFileSync(path.join(client.workDir, 'README.md'), `${message}\n`);
    await client.ok(['add', '.gitmodules', 'README.md']);
    for (const [where, { sha }] of Object.entries(submodules)) await client.ok(['update-index', '--add', '--cacheinfo', `160000,${sha},${where}`]);
    await client.ok(['commit', '--quiet', '-m', message]);
  }

  const push = (): Promise<GitResult> => pilot.push(client, 'subsite');

  async function assertServesTheSubmodulePage(): Promise<void> {
    const page = await pilot.get('subsite');
    assert.equal(page.status, 200);
    assert.match(page.body, /page from the submodule/);
  }

  function assertRejected(result: GitResult, message: RegExp): void {
    assert.notEqual(result.code, 0, `push should have been rejected:\n${result.stderr}`);
    assert.match(result.stderr, /\[remote rejected\] HEAD -> main \(pre-receive hook declined\)/);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /remote: +! +v1 is still serving/);
  }

  it('fetches an https submodule at its pinned commit before detection and serves its files', async () => {
    await commitWithSubmodules({ public: { url: `${gitServer.baseUrl}/site.git`, sha: sitePinned } }, 'site in a submodule');
    const result = await push();
    assert.equal(result.code, 0, `push failed:\n${result.stderr}`);
    assert.match(result.stderr, /remote: -----> Fetching 1 submodule over https/);
    assert.match(result.stderr, new RegExp(`remote:        public: ${gitServer.baseUrl.replaceAll('.', '\\.')}/site\\.git at ${sitePinned.slice(0, 7)}`));
    assert.match(result.stderr, /remote: -----> Detected static site \(public\/\)/);
    await assertServesTheSubmodulePage();
  });

  it('refuses relative and local-path submodule URLs, naming each and what to do, and keeps v1 serving', async () => {
    const other = path.join(pilot.server.paths.repositories, 'subsite.git');
    await commitWithSubmodules({
      public: { url: `${gitServer.baseUrl}/site.git`, sha: sitePinned },
      'vendor/rel': { url: '../other-app.git', sha: sitePinned },
      'vendor/local': { url: `file://${other}`, sha: sitePinned },
    }, 'submodules that would read this server');
    const result = await push();
    assertRejected(result, /remote: +! +submodule vendor\/local \(vendor\/local\) has the URL "file:\/\/.*": Pilot fetches submodules only over https:\/\/, not file; use an https:\/\/ URL/);
    assert.match(result.stderr, /remote: +! +submodule vendor\/rel \(vendor\/rel\) has the URL "\.\.\/other-app\.git": Pilot does not fetch relative URLs or local paths .*or vendor the code into the repository/);
    assert.match(result.stderr, /remote: +! +nothing was deployed/);
    assert.doesNotMatch(result.stderr, /Fetching/);
    await assertServesTheSubmodulePage();
  });

  it("fails the push with git's reason when the pinned commit is not on the submodule's server, and keeps v1 serving", async () => {
    const missing = 'f'.repeat(40);
    await commitWithSubmodules({ public: { url: `${gitServer.baseUrl}/site.git`, sha: missing } }, 'pinned commit never pushed');
    const result = await push();
    assertRejected(result, /remote: +! +submodule public \(public\) could not be fetched from https:\/\/127\.0\.0\.1:\d+\/site\.git at fffffff: git says: fatal: .*not our ref/);
    await assertServesTheSubmodulePage();
  });
});
