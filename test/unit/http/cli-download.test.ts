import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TEST_PROXY_KEY, buildTestApp } from '../../helpers/api.js';
import { PROXY_KEY_HEADER } from '../../../src/http/client-address.js';

describe('GET /cli and /cli/install.sh', () => {
  it('serves the bundled CLI without a token, and says how to build it when it is missing', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-bundle-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bundle = path.join(dir, 'pilot-cli.mjs');
    const { app } = await buildTestApp(t, { cliBundle: bundle });
    const missing = await app.inject({ method: 'GET', url: '/cli' });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /run `npm run build`/);
    fs.writeFileSync(bundle, '#!/usr/bin/env node\nconsole.log("pilot");\n');
    const served = await app.inject({ method: 'GET', url: '/cli' });
    assert.equal(served.statusCode, 200);
    assert.equal(served.body, '#!/usr/bin/env node\nconsole.log("pilot");\n');
  });

  it('answers an install script for the address the client used, and refuses a host that is not one', async (t) => {
    const { app } = await buildTestApp(t);
    const script = await app.inject({ method: 'GET', url: '/cli/install.sh', headers: { host: 'pilot.example.com', 'x-forwarded-proto': 'https', [PROXY_KEY_HEADER]: TEST_PROXY_KEY }, remoteAddress: '127.0.0.1' });
    assert.equal(script.statusCode, 200);
    assert.match(script.body, /^#!\/bin\/sh\n/);
    assert.match(script.body, /^url='https:\/\/pilot\.example\.com'$/m);
    // Valid POSIX sh, as `| sh` will run it.
    execFileSync('sh', ['-n'], { input: script.body });
    const hostile = await app.inject({ method: 'GET', url: '/cli/install.sh', headers: { host: "x'$(reboot)'" } });
    assert.equal(hostile.statusCode, 400);
    assert.doesNotMatch(hostile.body, /#!\/bin\/sh/);
  });
});
