import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Deployer, type DeployerDeps } from '../../../src/pipeline/deploy.js';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createConfigStore, createFormationStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import type { ContainerEngine, ContainerPlan } from '../../../src/domain/ports.js';
import type { DeployScripts } from '../../../src/domain/types.js';
import { loadConfig } from '../../../src/config.js';
import { goLive } from '../../helpers/releases.js';

/**
 * The rollout's one-off tasks and scale, told through a rollback (no build): an engine fake
 * that runs one-off containers with the exit code their command asks for, and a worker-only
 * release at its default scale of 0, so no process needs a health check.
 */
describe('Deployer rollout: app.json scripts, release command and the scale of 0', () => {
  function setup(scripts: DeployScripts, releaseCommand: string | null = null) {
    const db = openDatabase(':memory:');
    const apps = createAppStore(db);
    const releases = createReleaseStore(db);
    const app = apps.create('jobs');
    const from = releases.create({ appId: app.id, kind: 'deploy', gitSha: 'a'.repeat(40), config: {} });
    releases.update(from.id, { image: 'pilot/jobs:v1', port: 5000, processes: { worker: 'node worker.js' }, releaseCommand, scripts });
    goLive(releases, from.id);
    const ran: string[] = [];
    const engine = {
      imageExists: async () => true,
      ensureNetwork: async () => undefined,
      listContainers: async () => [],
      removeContainer: async () => undefined,
      removeImage: async () => undefined,
      stopContainer: async () => undefined,
      containerLogs: async () => '',
      runAttached: async (plan: ContainerPlan, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void) => {
        const command = plan.command?.at(-1) ?? '';
        ran.push(`${plan.name}: ${command}`);
        onOutput('stdout', Buffer.from(`output of ${command}\n`));
        return { stdin: undefined, exitCode: Promise.resolve(Number(/exit (\d+)/.exec(command)?.[1] ?? 0)), resize: async () => undefined, kill: async () => undefined };
      },
    } as unknown as ContainerEngine;
    const deps = {
      settings: loadConfig({ PILOT_DRAIN_SECONDS: '0' }),
      apps,
      releases,
      configVars: createConfigStore(db),
      formation: createFormationStore(db),
      volumes: { list: () => [] },
      engine,
      routes: { switchTo: async (_candidate: unknown, commit: () => void) => commit() },
      logger: pino({ level: 'silent' }),
    } as unknown as DeployerDeps;
    const deployer = new Deployer(deps);
    return {
      ran,
      releases,
      async rollBack() {
        const lines: string[] = [];
        const result = await deployer.releaseFromImage({ app, kind: 'rollback', from: releases.get(from.id)!, config: {} }, (line) => lines.push(line));
        await deployer.settle();
        return { ...result, output: lines.join('\n') };
      },
    };
  }

  it('runs predeploy before the release command, and says no process runs while every type is at 0', async () => {
    const { ran, rollBack } = setup({ predeploy: 'node check.js', postdeploy: null, firstDeploy: null }, 'node migrate.js');
    const { live, output } = await rollBack();
    assert.equal(live, true);
    assert.deepEqual(ran, [`${loadConfig({}).instance}-jobs-release-v2-predeploy: exec node check.js`, `${loadConfig({}).instance}-jobs-release-v2: exec node migrate.js`]);
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
    assert.deepEqual(ran, [`${loadConfig({}).instance}-jobs-release-v2-postdeploy: exec sh -c "exit 4"`], 'scripts.postdeploy runs after the first live release only, and v1 was live');
  });
});
