import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { saveCredentials } from '../../../src/cli/settings.js';
import { credentialAnswer, parseCredentialRequest } from '../../../src/cli/git-credentials.js';
import { runPilot } from '../../helpers/cli.js';

describe('pilot git:credential', () => {
  it("answers git with the login's token for the login's server only", () => {
    const login = { url: 'https://pilot.example.com', token: 'secret' };
    const request = parseCredentialRequest('protocol=https\nhost=pilot.example.com\npath=shop.git\n\n');
    assert.deepEqual(request, { protocol: 'https', host: 'pilot.example.com', path: 'shop.git' });
    assert.equal(credentialAnswer(request, login), 'username=pilot\npassword=secret\n');
    assert.equal(credentialAnswer({ protocol: 'https', host: 'github.com' }, login), '');
    assert.equal(credentialAnswer({ protocol: 'http', host: 'pilot.example.com' }, login), '', 'not over another protocol');
    assert.equal(credentialAnswer({ protocol: 'http', host: '127.0.0.1:3000' }, { url: 'http://127.0.0.1:3000', token: 't' }), 'username=pilot\npassword=t\n');
  });
});

describe('pilot git:remote with real git', () => {
  it('adds the remote, gives git the token through the helper, keeps it out of .git/config, and says when it replaces a remote', async (t) => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-git-remote-'));
    t.after(() => fs.rmSync(home, { recursive: true, force: true }));
    const repo = path.join(home, 'shop');
    execFileSync('git', ['init', '--quiet', repo]);
    const token = 'pilot_test_token_4f2a';
    saveCredentials({ url: 'http://127.0.0.1:3999', token }, { HOME: home });
    const env = { HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };

    const added = await runPilot(['git:remote', '-a', 'shop'], repo, env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^Added remote pilot -> http:\/\/127\.0\.0\.1:3999\/shop\.git$/m);
    assert.equal(execFileSync('git', ['-C', repo, 'remote', 'get-url', 'pilot']).toString().trim(), 'http://127.0.0.1:3999/shop.git');
    assert.ok(!fs.readFileSync(path.join(repo, '.git', 'config'), 'utf8').includes(token), 'no token in .git/config');

    // What git does before a push that was asked for a password.
    const filled = execFileSync('git', ['-C', repo, 'credential', 'fill'], { input: 'protocol=http\nhost=127.0.0.1:3999\npath=shop.git\n\n', env: { ...process.env, ...env } }).toString();
    assert.match(filled, new RegExp(`^password=${token}$`, 'm'));

    const again = await runPilot(['git:remote', '-a', 'shop'], repo, env);
    assert.match(again.stdout, /^Kept remote pilot -> /m);
    const replaced = await runPilot(['git:remote', '-a', 'blog'], repo, env);
    assert.match(replaced.stdout, /^Replaced remote pilot -> http:\/\/127\.0\.0\.1:3999\/blog\.git \(it was http:\/\/127\.0\.0\.1:3999\/shop\.git\)$/m);
    const helpers = execFileSync('git', ['-C', repo, 'config', '--local', '--get-all', 'credential.http://127.0.0.1:3999.helper']).toString().split('\n').filter(Boolean);
    assert.equal(helpers.length, 1, 'one helper after the reset (an empty value and ours), however often git:remote runs');
  });
});
