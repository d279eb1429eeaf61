import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_SUBMODULES, displayUrl, fetchSubmodules, parseGitlinks, parseGitmodules, parseSubmoduleManifest, pushSubmodules, submodulePlan,
} from '../../../src/pipeline/submodules.js';
import { DeployOutput } from '../../../src/pipeline/output.js';
import { ValidationError } from '../../../src/domain/errors.js';
import type { Submodule, SubmoduleFetcher } from '../../../src/domain/ports.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = '0123456789abcdef0123456789abcdef01234567';

/** What `git config -z --list` prints for these key/value pairs. */
const configList = (pairs: [string, string][]) => pairs.map(([key, value]) => `${key}\n${value}\0`).join('');
const gitlink = (sha: string, path: string) => `160000 commit ${sha}\t${path}`;
const header = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('parseGitmodules', () => {
  it('reads path and url per submodule, names with dots included, and skips other keys', () => {
    const list = configList([
      ['submodule.lib.path', 'vendor/lib'],
      ['submodule.lib.url', 'https://example.com/lib.git'],
      ['submodule.lib.branch', 'main'],
      ['submodule.ui.kit.v2.url', 'https://example.com/kit.git'],
      ['submodule.ui.kit.v2.path', 'kit'],
      ['core.bare', 'false'],
    ]);
    assert.deepEqual(parseGitmodules(list), [
      { name: 'lib', path: 'vendor/lib', url: 'https://example.com/lib.git' },
      { name: 'ui.kit.v2', url: 'https://example.com/kit.git', path: 'kit' },
    ]);
  });

  it('reads nothing from an empty list (no .gitmodules)', () => {
    assert.deepEqual(parseGitmodules(''), []);
  });
});

describe('parseGitlinks', () => {
  it('maps each path, spaces and newlines included, to its pinned commit', () => {
    const links = parseGitlinks([gitlink(SHA_A, 'vendor/my lib'), gitlink(SHA_B, 'odd\nname')]);
    assert.deepEqual([...links], [['vendor/my lib', SHA_A], ['odd\nname', SHA_B]]);
  });

  it('refuses an entry that is not a gitlink with a 40-hex commit', () => {
    assert.throws(() => parseGitlinks(['160000 commit abc\tlib']), /the git hook sent a gitlink Pilot cannot read \("160000 commit abc\\tlib"\)/);
    assert.throws(() => parseGitlinks([`100644 blob ${SHA_A}\tfile`]), ValidationError);
  });
});

describe('parseSubmoduleManifest', () => {
  it('reads the base64 JSON the hook sends', () => {
    const manifest = { gitlinks: [gitlink(SHA_A, 'lib')], gitmodules: configList([['submodule.lib.path', 'lib']]) };
    assert.deepEqual(parseSubmoduleManifest(header(manifest)), manifest);
  });

  it('refuses what is not JSON, the wrong shape, and more submodules than the bound', () => {
    assert.throws(() => parseSubmoduleManifest('%%%'), /the submodule list sent by the git hook is not valid JSON: nothing was deployed/);
    assert.throws(() => parseSubmoduleManifest(header({ gitlinks: 'lib', gitmodules: '' })), /is malformed: nothing was deployed/);
    assert.throws(() => parseSubmoduleManifest(header({ gitlinks: [1], gitmodules: '' })), /is malformed/);
    assert.throws(() => parseSubmoduleManifest(header(null)), /is malformed/);
    const many = Array.from({ length: MAX_SUBMODULES + 1 }, (_, index) => gitlink(SHA_A, `lib${index}`));
    assert.throws(() => parseSubmoduleManifest(header({ gitlinks: many, gitmodules: '' })), new RegExp(`the push has ${MAX_SUBMODULES + 1} submodules: Pilot fetches at most ${MAX_SUBMODULES}; or vendor the code`));
  });
});

describe('submodulePlan', () => {
  const plan = (links: string[], pairs: [string, string][]) => submodulePlan({ gitlinks: links, gitmodules: configList(pairs) });

  it('fetches every gitlink at its pinned commit from its https URL, by path order', () => {
    const submodules = plan([gitlink(SHA_B, 'vendor/ui'), gitlink(SHA_A, 'lib')], [
      ['submodule.ui.path', 'vendor/ui'],
      ['submodule.ui.url', 'https://git.example.com/team/ui.git'],
      ['submodule.lib.path', 'lib'],
      ['submodule.lib.url', ' https://github.com/owner/lib '],
      ['submodule.stale.path', 'gone'],
      ['submodule.stale.url', '../stale.git'],
    ]);
    assert.deepEqual(submodules, [
      { name: 'lib', path: 'lib', sha: SHA_A, url: 'https://github.com/owner/lib' },
      { name: 'ui', path: 'vendor/ui', sha: SHA_B, url: 'https://git.example.com/team/ui.git' },
    ]);
  });

  it('refuses relative, SSH, file://, http:// and local-path URLs, naming each submodule and what to do', () => {
    const urls: Record<string, string> = {
      rel: '../lib.git',
      scp: 'git@github.com:owner/lib.git',
      ssh: 'ssh://git@github.com/owner/lib.git',
      file: 'file:///srv/pilot/repos/other.git',
      local: '/var/lib/pilot/repos/other.git',
      http: 'http://example.com/lib.git',
    };
    const names = Object.keys(urls);
    const error = (() => {
      try {
        plan(names.map((name) => gitlink(SHA_A, name)), names.flatMap((name): [string, string][] => [[`submodule.${name}.path`, name], [`submodule.${name}.url`, urls[name] as string]]));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof ValidationError);
    const lines = error.message.split('\n');
    assert.equal(lines.length, names.length + 1);
    assert.equal(lines.at(-1), 'nothing was deployed');
    const hint = 'use an https:// URL (`git submodule set-url';
    assert.match(error.message, /^submodule file \(file\) has the URL "file:\/\/\/srv\/pilot\/repos\/other\.git": Pilot fetches submodules only over https:\/\/, not file;/m);
    assert.match(error.message, /^submodule http \(http\) has the URL "http:\/\/example\.com\/lib\.git": Pilot fetches submodules only over https:\/\/, not http;/m);
    assert.match(error.message, /^submodule local \(local\) has the URL "\/var\/lib\/pilot\/repos\/other\.git": Pilot does not fetch relative URLs or local paths/m);
    assert.match(error.message, /^submodule rel \(rel\) has the URL "\.\.\/lib\.git": Pilot does not fetch relative URLs or local paths \(they would read repositories on the Pilot server\)/m);
    assert.match(error.message, /^submodule scp \(scp\) has the URL "git@github\.com:owner\/lib\.git": Pilot fetches submodules only over https:\/\/, not SSH or local paths/m);
    assert.match(error.message, /^submodule ssh \(ssh\) has the URL ".*": Pilot fetches submodules only over https:\/\/, not ssh;/m);
    for (const line of lines.slice(0, -1)) {
      assert.ok(line.includes(hint) && line.endsWith('or vendor the code into the repository (remove the submodule and commit its files)'), line);
    }
  });

  it('refuses a gitlink without a .gitmodules URL, saying how to add one', () => {
    assert.throws(
      () => plan([gitlink(SHA_A, 'lib')], []),
      /submodule lib \(commit aaaaaaa\) has no URL in \.gitmodules: add one with `git submodule add https:\/\/HOST\/OWNER\/REPO\.git lib`, or vendor the code/,
    );
    assert.throws(() => plan([gitlink(SHA_A, 'lib')], [['submodule.lib.path', 'lib'], ['submodule.lib.url', '  ']]), /submodule lib \(commit aaaaaaa\) has no URL/);
  });

  it('refuses paths that are not plain relative paths', () => {
    for (const path of ['../outside', 'a/../../b', '/abs', 'a//b', '.git/hooks', 'x/.GIT', './lib', 'a\\b']) {
      assert.throws(
        () => plan([gitlink(SHA_A, path)], [[`submodule.x.path`, path], ['submodule.x.url', 'https://example.com/x.git']]),
        new RegExp(`submodule at ${JSON.stringify(path).replace(/[.\\/]/g, '\\$&')}: the path`),
        path,
      );
    }
  });

  it('refuses an https URL without a host, with spaces, or too long, and masks a token in what it shows', () => {
    const refused = (url: string) => () => plan([gitlink(SHA_A, 'lib')], [['submodule.lib.path', 'lib'], ['submodule.lib.url', url]]);
    assert.throws(refused('https://exa mple.com/x.git'), /holds spaces or control characters/);
    assert.throws(refused(`https://example.com/${'x'.repeat(2100)}`), /longer than 2048 characters/);
    assert.throws(refused('ssh://deploy:s3cret@example.com/x.git'), (error: Error) => !error.message.includes('s3cret') && error.message.includes('ssh://***@example.com/x.git'));
  });
});

describe('displayUrl', () => {
  it('masks the user info of a URL and leaves others as they are', () => {
    assert.equal(displayUrl('https://user:token@github.com/o/r.git'), 'https://***@github.com/o/r.git');
    assert.equal(displayUrl('https://github.com/o/r.git'), 'https://github.com/o/r.git');
  });
});

describe('fetchSubmodules', () => {
  const lib: Submodule = { name: 'lib', path: 'vendor/lib', sha: SHA_A, url: 'https://x:tok@example.com/lib.git' };

  function recorder() {
    const lines: string[] = [];
    const calls: [string, Submodule, number][] = [];
    const fetcher = (nested: string[]): SubmoduleFetcher => ({
      async fetch(buildDir, submodule, maxTreeBytes) {
        calls.push([buildDir, submodule, maxTreeBytes]);
        return { nested };
      },
    });
    return { lines, calls, fetcher, output: new DeployOutput((line) => lines.push(line)) };
  }

  it('asks the fetcher for each submodule with the push limit and says what it fetches, token masked', async () => {
    const { lines, calls, fetcher, output } = recorder();
    await fetchSubmodules(fetcher(['deps/inner']), '/build', [lib], 1000, output);
    assert.deepEqual(calls, [['/build', lib, 1000]]);
    assert.deepEqual(lines, [
      '-----> Fetching 1 submodule over https',
      `       vendor/lib: https://***@example.com/lib.git at aaaaaaa`,
      '       vendor/lib has submodules of its own (deps/inner): Pilot does not fetch nested submodules, their directories stay empty',
    ]);
  });

  it('does nothing, and says nothing, for a push without submodules', async () => {
    const { lines, calls, fetcher, output } = recorder();
    await fetchSubmodules(fetcher([]), '/build', pushSubmodules(undefined), 1000, output);
    assert.deepEqual([lines, calls], [[], []]);
  });

  it('fails the push with the fetcher\'s reason', async () => {
    const failing: SubmoduleFetcher = { fetch: () => Promise.reject(new ValidationError('submodule lib could not be fetched')) };
    await assert.rejects(fetchSubmodules(failing, '/build', [lib], 1000, new DeployOutput(() => undefined)), /submodule lib could not be fetched/);
  });
});
