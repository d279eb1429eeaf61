import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigChange, planConfigChange } from '../../../src/services/config-vars.js';

describe('parseConfigChange', () => {
  it('takes set, unset and build, each optional', () => {
    assert.deepEqual(parseConfigChange({ set: { A: '1' }, unset: ['B'], build: { A: true } }), { set: { A: '1' }, unset: ['B'], build: { A: true } });
    assert.deepEqual(parseConfigChange({}), { set: {}, unset: [], build: {} });
  });

  it('refuses every wrong JSON type with a message naming the field, instead of coercing it', () => {
    const refused: [unknown, RegExp][] = [
      [null, /the body must be a JSON object such as \{"set": \{"KEY": "value"\}\}, got null/],
      [[], /the body must be a JSON object .*got an array/],
      [{ set: { A: null } }, /"set.A" must be a string, got null \(to remove a var, put its name in "unset"\)/],
      [{ set: { A: 5 } }, /"set.A" must be a string, got the number 5/],
      [{ set: { A: true } }, /"set.A" must be a string, got the boolean true/],
      [{ set: ['A=1'] }, /"set" must be an object of "KEY": "value" strings, got an array/],
      [{ unset: 'A' }, /"unset" must be an array of config var names, got the string "A"/],
      [{ unset: ['A', 2] }, /"unset" must be an array of config var names/],
      [{ build: ['A'] }, /"build" must be an object of "KEY": true or false, got an array/],
      [{ build: { A: 'yes' } }, /"build.A" must be true \(build and runtime\) or false \(runtime only\), got the string "yes"/],
      [{ build: { A: 1 } }, /"build.A" must be true .*got the number 1/],
      [{ setBuild: { A: '1' } }, /unknown field "setBuild": the body takes "set", "unset" and "build"/],
    ];
    for (const [body, message] of refused) {
      assert.throws(() => parseConfigChange(body), (error: Error & { statusCode?: number }) => message.test(error.message) && error.statusCode === 400, JSON.stringify(body));
    }
  });
});

describe('planConfigChange', () => {
  const current = { vars: { GREETING: 'hi', VITE_API_URL: 'https://old', NPM_TOKEN: 'npm_1' }, buildKeys: ['NPM_TOKEN', 'VITE_API_URL'] };
  const change = (parts: { set?: Record<string, string>; unset?: string[]; build?: Record<string, boolean> }) => ({ set: {}, unset: [], build: {}, ...parts });

  it('keeps a var build or runtime as it was when only its value is set; a new var is runtime only', () => {
    const planned = planConfigChange(current, change({ set: { VITE_API_URL: 'https://new', GREETING: 'hello', NEW: 'x' } }));
    assert.deepEqual(planned.vars, { GREETING: 'hello', VITE_API_URL: 'https://new', NPM_TOKEN: 'npm_1', NEW: 'x' });
    assert.deepEqual(planned.buildKeys, ['NPM_TOKEN', 'VITE_API_URL']);
    assert.equal(planned.runtimeChanged, true);
    assert.deepEqual(planned.nextBuild, ['VITE_API_URL'], 'a new value of a build var is used from the next build');
  });

  it('flips build-ness without changing the runtime environment: no new release, the next build sees it', () => {
    const planned = planConfigChange(current, change({ build: { GREETING: true, NPM_TOKEN: false, VITE_API_URL: true } }));
    assert.deepEqual(planned.vars, current.vars);
    assert.deepEqual(planned.buildKeys, ['GREETING', 'VITE_API_URL']);
    assert.equal(planned.runtimeChanged, false);
    assert.deepEqual(planned.nextBuild, ['GREETING', 'NPM_TOKEN'], 'an unchanged flag touches no build');
  });

  it('sets a new build var in one change, and forgets the flag of a var it unsets', () => {
    const planned = planConfigChange(current, change({ set: { NEXT_PUBLIC_SITE: 'shop' }, build: { NEXT_PUBLIC_SITE: true }, unset: ['NPM_TOKEN'] }));
    assert.deepEqual(planned.buildKeys, ['NEXT_PUBLIC_SITE', 'VITE_API_URL']);
    assert.deepEqual(planned.nextBuild, ['NEXT_PUBLIC_SITE', 'NPM_TOKEN']);
    assert.equal('NPM_TOKEN' in planned.vars, false);
  });

  it('refuses a build flag for a var that is not set or that the change unsets, and invalid names', () => {
    assert.throws(() => planConfigChange(current, change({ build: { MISSING: true } })), /cannot make "MISSING" a build var: it is not set \(set it with "set": \{"MISSING": "..."\}\)/);
    assert.throws(() => planConfigChange(current, change({ unset: ['GREETING'], build: { GREETING: false } })), /cannot make "GREETING" runtime only: this request also unsets it/);
    assert.throws(() => planConfigChange(current, change({ set: { 'BAD-NAME': 'x' }, build: { 'BAD-NAME': true } })), /invalid config var name "BAD-NAME"/);
    assert.throws(() => planConfigChange(current, change({ set: { PORT: '80' } })), /PORT is set by Pilot/);
  });
});
