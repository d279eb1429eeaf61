import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployScripts } from '../../../src/domain/types.js';
import { buildCore } from '../../helpers/core.js';
import { SOMEONE, goLive } from '../../helpers/releases.js';

/**
 * The rollout's one-off tasks and scale, told through a rollback (no build): the runtime fake
 * runs one-off commands with the exit code their command asks for (`exit N`), and the release
 * is worker-only at its default scale of 0, so no process needs a health check.
 */
describe('Deployer rollout: app.json scripts, release command and the scale of 0', () => {
  function setup(scripts: DeployScripts, releaseCommand: string | null = null) {
    const core = buildCore();
    const app = core.apps.create('jobs');
    const from = core.releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: {} });
    core.releases.update(from.id, { image: 'pilot/jobs:v1', port: 5000, slot: 'blue', processes: { worker: 'node worker.js' }, releaseCommand, scripts });
    goLive(core.releases, from.id);
    for (const code of [3, 4]) core.runtime.oneOffExitCodes.set(`exit ${code}`, code);
    const ran = core.runtime.oneOffRuns;
    return {
      ran,
      releases: core.releases,
      async rollBack() {
        const lines: string[] = [];
        const v1 = core.releases.get(from.id)!;
        const result = await core.deployer
          .changeApp(app, () => ({ commit: () => undefined, release: { kind: 'rollback', from: v1, config: {}, buildKeys: [], madeBy: SOMEONE } }), (line) => lines.push(line))
          .then(() => true, () => false);
        await core.rollout.settle();
        return { live: result, release: core.releases.list(app.id)[0]!, output: lines.join('\n') };
      },
    };
  }

  it('runs predeploy before the release command, and says no process runs while every type is at 0', async () => {
    const { ran, rollBack } = setup({ predeploy: 'node check.js', postdeploy: null, firstDeploy: null }, 'node migrate.js');
    const { live, output } = await rollBack();
    assert.equal(live, true);
    assert.deepEqual(ran, ['release v2: exec node check.js', 'release v2: exec node migrate.js']);
    assert.match(output, /-----> Running app\.json predeploy script: node check\.js\n {7}output of exec node check\.js\n-----> Running release command: node migrate\.js/);
    assert.match(output, /-----> No process runs: worker is at 0; scale it with `pilot ps:scale worker=1 -a jobs` or app\.json formation/);
    assert.match(output, /v2 is live \(no web process: no route\)/);
  });

  it('rejects the release when predeploy fails, before the release command, and v1 keeps serving', async () => {
    const { ran, releases, rollBack } = setup({ predeploy: 'sh -c "exit 3"', postdeploy: 'node notify.js', firstDeploy: null }, 'node migrate.js');
    const { live, release, output } = await rollBack();
    assert.equal(live, false);
    assert.equal(ran.length, 1, `ran only the predeploy script: ${ran.join('; ')}`);
    assert.equal(release.status, 'failed');
    assert.equal(release.failureReason, 'app.json predeploy script failed with exit code 3: sh -c "exit 3"');
    assert.match(output, /v1 is still serving/);
    assert.equal(releases.live(release.appId)?.version, 1);
  });

  it('keeps the release live when postdeploy fails, and says so', async () => {
    const { ran, rollBack } = setup({ predeploy: null, postdeploy: 'sh -c "exit 4"', firstDeploy: 'node seed.js' });
    const { live, release, output } = await rollBack();
    assert.equal(live, true);
    assert.equal(release.status, 'live');
    assert.match(output, / ! {5}app\.json postdeploy script failed with exit code 4: sh -c "exit 4"; v2 stays live \(this script runs after the switch\)/);
    assert.deepEqual(ran, ['release v2: exec sh -c "exit 4"'], 'scripts.postdeploy runs after the first live release only, and v1 was live');
  });
});
