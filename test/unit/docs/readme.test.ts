import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { README, firstDeployScript, firstDeploySteps } from '../../helpers/readme.js';

describe("the README's first-deploy steps (run as written by test/e2e/install.test.ts)", () => {
  it('takes every fenced block after a marker, in order, and nothing else', () => {
    const markdown = ['# T', '```sh', 'not a step', '```', '<!-- first-deploy -->', '```sh', 'one', 'two', '```', 'text', '<!-- first-deploy -->', '```', 'three', '```'].join('\n');
    assert.deepEqual(firstDeploySteps(markdown), ['one\ntwo', 'three']);
  });

  it('refuses a marker without a block, or a block that never closes', () => {
    assert.throws(() => firstDeploySteps('<!-- first-deploy -->\ntext'), /must be followed by a fenced block/);
    assert.throws(() => firstDeploySteps('<!-- first-deploy -->\n```sh\nopen'), /never closes/);
  });

  it("names the user's domain and app in place of the README's examples", () => {
    const markdown = '<!-- first-deploy -->\n```sh\npilot login https://pilot.example.com\npilot git:remote -a myapp # myapps stay\n```';
    assert.equal(firstDeployScript(markdown, { domain: 'localhost', app: 'site' }), 'pilot login https://pilot.localhost\npilot git:remote -a site # myapps stay');
  });

  it('the README trusts the CA, installs the CLI, logs in, adds the remote and pushes', () => {
    const script = firstDeploySteps(fs.readFileSync(README, 'utf8')).join('\n');
    for (const step of ['/ca.crt', 'NODE_EXTRA_CA_CERTS=', '/cli/install.sh | sh', 'pilot login https://pilot.example.com', 'pilot git:remote -a myapp', 'git push pilot main']) {
      assert.ok(script.includes(step), `a first-deploy step does "${step}"`);
    }
  });
});
