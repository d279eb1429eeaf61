import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_APP_JSON, MAX_STARTUP_CHECKS_SECONDS, parseAppJson } from '../../../src/pipeline/app-json.js';
import { cronEntryId } from '../../../src/pipeline/cron.js';
import { DeployError } from '../../../src/domain/errors.js';

function refusal(text: string): string {
  try {
    parseAppJson(text);
  } catch (error) {
    assert.ok(error instanceof DeployError, `expected a DeployError, got ${String(error)}`);
    assert.equal(error.code, 'PILOT_APP_JSON_INVALID');
    return error.message;
  }
  assert.fail(`accepted ${text}`);
}

describe('parseAppJson', () => {
  it('reads nothing from a missing or empty file: GET / checks web, no formation, scripts or cron', () => {
    assert.deepEqual(parseAppJson(undefined), EMPTY_APP_JSON);
    assert.deepEqual(parseAppJson('  \n'), EMPTY_APP_JSON);
    assert.deepEqual(parseAppJson('{"name": "shop", "env": {"A": {"value": "1"}}}'), EMPTY_APP_JSON);
    assert.deepEqual(EMPTY_APP_JSON.healthchecks, [{ path: '/' }]);
  });

  it('reads the whole file, with comments and trailing commas', () => {
    const parsed = parseAppJson(`{
      /* Dokku's fields */
      "healthchecks": {
        "web": [
          {"type": "startup", "name": "ready", "path": "/ready", "port": 8080, "attempts": 3, "wait": 2, "timeout": 5, "initialDelay": 1, "content": "ok"},
          {"type": "liveness", "path": "/live"},
          {"path": "/second"},
        ],
        "worker": [{"path": "/not-web"}],
      },
      "formation": {"web": {"quantity": 2, "max_parallel": 1}, "worker": {"quantity": 0}, "clock": {"max_parallel": 1}},
      "scripts": {"dokku": {"predeploy": " node migrate.js ", "postdeploy": "node notify.js"}, "postdeploy": "node seed.js", "test": "npm test"},
      "cron": [{"command": "node report.js", "schedule": "0 1 * * *", "concurrency_policy": "forbid"}], // nightly
    }`);
    assert.deepEqual(parsed, {
      healthchecks: [
        { path: '/ready', port: 8080, attempts: 3, wait: 2, timeout: 5, initialDelay: 1, content: 'ok' },
        { path: '/second' },
      ],
      formation: { web: 2, worker: 0 },
      scripts: { predeploy: 'node migrate.js', postdeploy: 'node notify.js', firstDeploy: 'node seed.js' },
      cron: [{ id: cronEntryId('0 1 * * *', 'node report.js'), command: 'node report.js', schedule: '0 1 * * *', maintenance: false }],
    });
  });

  it('checks / when app.json has only liveness or readiness checks', () => {
    assert.deepEqual(parseAppJson('{"healthchecks": {"web": [{"type": "readiness", "path": "/r"}]}}').healthchecks, [{ path: '/' }]);
  });

  it('names the line and column of a syntax error', () => {
    assert.equal(refusal('{\n  "formation": {\n    "web": {"quantity": 1}\n  \n'), 'app.json is not valid JSON: close brace expected at line 5, column 1');
    assert.equal(refusal('{"a": 1,, "b": 2}'), 'app.json is not valid JSON: property name expected at line 1, column 9');
    assert.equal(refusal('[1, 2]'), 'app.json must be an object, got [1,2]');
  });

  it('refuses every health check field of the wrong type, naming it and what it allows', () => {
    const web = (check: string) => refusal(`{"healthchecks": {"web": [${check}]}}`);
    assert.equal(refusal('{"healthchecks": []}'), 'app.json healthchecks must be an object of process types, e.g. {"web": [{"path": "/health"}]}, got []');
    assert.equal(refusal('{"healthchecks": {"web": {"path": "/"}}}'), 'app.json healthchecks.web must be a list of checks, got {"path":"/"}');
    assert.equal(web('"/health"'), 'app.json healthchecks.web[0] must be an object such as {"path": "/health", "attempts": 3}, got "/health"');
    assert.equal(web('{"type": "warmup"}'), 'app.json healthchecks.web[0].type must be "startup", "liveness" or "readiness", got "warmup"');
    assert.equal(web('{"path": 5}'), 'app.json healthchecks.web[0].path must be a string, got 5');
    assert.equal(web('{"path": "ready"}'), 'app.json healthchecks.web[0].path must start with / and hold no spaces, got "ready"');
    assert.equal(web('{"path": "/a b"}'), 'app.json healthchecks.web[0].path must start with / and hold no spaces, got "/a b"');
    assert.equal(web('{"attempts": 0}'), 'app.json healthchecks.web[0].attempts must be a whole number from 1 to 1000, got 0');
    assert.equal(web('{"attempts": "3"}'), 'app.json healthchecks.web[0].attempts must be a whole number from 1 to 1000, got "3"');
    assert.equal(web('{"port": 70000}'), 'app.json healthchecks.web[0].port must be a whole number from 1 to 65535, got 70000');
    assert.equal(web('{"wait": -1}'), 'app.json healthchecks.web[0].wait must be a number of seconds from 0 to 3600, got -1');
    assert.equal(web('{"timeout": 0}'), 'app.json healthchecks.web[0].timeout must be a number of seconds above 0 to 3600, got 0');
    assert.equal(web('{"initialDelay": "5s"}'), 'app.json healthchecks.web[0].initialDelay must be a number of seconds from 0 to 3600, got "5s"');
    assert.equal(web('{"content": true}'), 'app.json healthchecks.web[0].content must be a string, got true');
    assert.equal(web('{"path": "/", "command": ["true"]}'), 'app.json healthchecks.web[0].command: Pilot runs HTTP checks only; give the check a "path" instead');
    assert.equal(web('{}, {"uptime": 10}'), 'app.json healthchecks.web[1].uptime: Pilot runs HTTP checks only; give the check a "path" instead');
  });

  it('refuses startup checks that could hold the deploy past MAX_STARTUP_CHECKS_SECONDS, giving the total', () => {
    const checks = (...list: string[]) => `{"healthchecks": {"web": [${list.join(', ')}]}}`;
    assert.equal(MAX_STARTUP_CHECKS_SECONDS, 900);
    // 30 + 10 × 60 + 9 × 30 = 900: at the limit.
    const atLimit = '{"path": "/", "attempts": 10, "timeout": 60, "wait": 30, "initialDelay": 30}';
    assert.equal(parseAppJson(checks(atLimit)).healthchecks.length, 1);
    assert.equal(
      refusal(checks('{"path": "/", "attempts": 10, "timeout": 60, "wait": 30, "initialDelay": 31}')),
      'app.json healthchecks.web could take 901 s (initialDelay + attempts × timeout + the waits between attempts, over all startup checks); ' +
        'the limit is 900 s: lower attempts, wait, timeout or initialDelay',
    );
    assert.match(refusal(checks('{"attempts": 1000, "wait": 3600, "timeout": 3600}')), /could take 7196400 s .*the limit is 900 s/);
    // The checks run one after the other: 2 × (5 × 90 + 4 × 1 s of default wait) = 908.
    assert.match(refusal(checks('{"path": "/a", "attempts": 5, "timeout": 90}', '{"path": "/b", "attempts": 5, "timeout": 90}')), /could take 908 s/);
    // Without attempts PILOT_HEALTH_TIMEOUT ends the retries; the delay and one request still count.
    assert.equal(parseAppJson(checks('{"timeout": 600}')).healthchecks.length, 1);
    assert.match(refusal(checks('{"initialDelay": 3600}')), /could take 3603 s/);
  });

  it('refuses a formation of the wrong shape', () => {
    assert.equal(refusal('{"formation": [1]}'), 'app.json formation must be an object of process types, e.g. {"worker": {"quantity": 1}}, got [1]');
    assert.equal(refusal('{"formation": {"worker": 2}}'), 'app.json formation.worker must be an object such as {"quantity": 1}, got 2');
    assert.equal(refusal('{"formation": {"web": {"quantity": "two"}}}'), 'app.json formation.web.quantity must be a whole number from 0 to 20, got "two"');
    assert.equal(refusal('{"formation": {"web": {"quantity": 1.5}}}'), 'app.json formation.web.quantity must be a whole number from 0 to 20, got 1.5');
    assert.equal(refusal('{"formation": {"web": {"quantity": 21}}}'), 'app.json formation.web.quantity must be a whole number from 0 to 20, got 21');
    assert.equal(refusal('{"formation": {"web": {"quantity": null}}}'), 'app.json formation.web.quantity must be a whole number from 0 to 20, got null');
  });

  it('refuses scripts of the wrong shape', () => {
    assert.equal(refusal('{"scripts": "npm run migrate"}'), 'app.json scripts must be an object such as {"dokku": {"predeploy": "npm run migrate"}}, got "npm run migrate"');
    assert.equal(refusal('{"scripts": {"dokku": ["x"]}}'), 'app.json scripts.dokku must be an object with "predeploy" and/or "postdeploy", got ["x"]');
    assert.equal(refusal('{"scripts": {"dokku": {"predeploy": 1}}}'), 'app.json scripts.dokku.predeploy must be a string, got 1');
    assert.equal(refusal('{"scripts": {"dokku": {"postdeploy": "  "}}}'), 'app.json scripts.dokku.postdeploy must not be empty');
    assert.equal(refusal('{"scripts": {"postdeploy": ["seed"]}}'), 'app.json scripts.postdeploy must be a string, got ["seed"]');
  });

  it('does not read a plain scripts.predeploy, as Dokku does not', () => {
    assert.deepEqual(parseAppJson('{"scripts": {"predeploy": "node x.js"}}').scripts, { predeploy: null, postdeploy: null, firstDeploy: null });
  });

  it('refuses cron entries through the cron rules (test/unit/pipeline/cron.test.ts has each of them)', () => {
    assert.match(refusal('{"cron": {"command": "x"}}'), /^app\.json cron must be a list of/);
    assert.match(refusal('{"cron": [{"command": "x", "schedule": 5}]}'), /^app\.json cron\[0\]\.schedule/);
  });
});
