import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configLines, configSetBody, configSetSummary } from '../../../src/cli/config-vars.js';

describe('pilot config', () => {
  it('prints KEY=value lines, build vars marked with a comment', () => {
    assert.equal(
      configLines({ config: { GREETING: 'hi there', VITE_API_URL: 'https://api' }, buildKeys: ['VITE_API_URL'] }),
      'GREETING=hi there\nVITE_API_URL=https://api  # build',
    );
    assert.equal(configLines({ config: {}, buildKeys: [] }), '');
  });

  it('config:set sends KEY=VALUE pairs, with --build / --no-build their flags, and a KEY alone only with a flag', () => {
    assert.deepEqual(configSetBody(['A=1', 'B=x=y', 'C='], undefined), { set: { A: '1', B: 'x=y', C: '' } });
    assert.deepEqual(configSetBody(['A=1', 'TOKEN'], true), { set: { A: '1' }, build: { A: true, TOKEN: true } });
    assert.deepEqual(configSetBody(['TOKEN'], false), { set: {}, build: { TOKEN: false } });
    assert.throws(() => configSetBody(['TOKEN'], undefined), /"TOKEN" is not KEY=VALUE$/);
    assert.throws(() => configSetBody(['=1'], true), /"=1" is not KEY=VALUE or KEY/);
  });

  it('config:set says what changed, and that builds see build vars from the next push', () => {
    const body = configSetBody(['A=1', 'TOKEN'], true);
    const lines = configSetSummary(body, { config: {}, buildKeys: ['A', 'TOKEN'], nextBuild: ['A', 'TOKEN'], release: { version: 7 } });
    assert.deepEqual(lines, [
      'Set A and released v7',
      'Made TOKEN a build var (its value is unchanged)',
      'Builds see the change to A, TOKEN from the next push: the running image keeps what it was built with',
    ]);
  });
});
