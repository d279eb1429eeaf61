import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReleaseImage, type BuildDeps } from '../../../src/pipeline/build.js';
import type { BuildPlan } from '../../../src/pipeline/detect.js';
import { DeployOutput } from '../../../src/pipeline/output.js';
import type { BuildRequest, ContainerEngine, Workspaces } from '../../../src/domain/ports.js';
import { DEFAULT_HEALTH_CHECKS, NO_DEPLOY_SCRIPTS } from '../../../src/domain/types.js';

/**
 * Fakes of the engine and workspaces that record each call, in order; `failing` names a call
 * that throws; `stages` are the earlier stage images the build reports.
 */
function fakes(failing?: string, stages: readonly (string | undefined)[] = []) {
  const calls: string[] = [];
  const record = (call: string) => {
    calls.push(call);
    if (failing !== undefined && call.startsWith(failing)) throw new Error('the engine broke');
  };
  const engine = {
    async buildImage(request: BuildRequest) {
      record(`build ${request.tag}`);
      return { stageImages: stages };
    },
    async copyFromImage(image: string, root: string, dirs: readonly string[], destDir: string, maxBytes: number) {
      record(`copy ${image} ${root} ${dirs.join(',')} -> ${destDir} (at most ${maxBytes})`);
    },
  } as unknown as ContainerEngine;
  const workspaces = {
    async copyIn(_buildDir: string, from: string, name: string) { record(`copyIn ${from} as ${name}`); },
    async restoreBuildCache(_buildDir: string, app: string, name: string) { record(`restore ${app} as ${name}`); },
    async keepBuildCache(_buildDir: string, app: string, name: string) { record(`keep ${name} for ${app}`); },
    async writeFile(_buildDir: string, name: string) { record(`write ${name}`); },
  } as unknown as Workspaces;
  const deps: BuildDeps = { images: engine, workspaces, renderDockerfile: () => 'FROM x', buildpackDir: (name) => `/bp/${name}` };
  const lines: string[] = [];
  return { deps, calls, lines, output: new DeployOutput((line) => lines.push(line)) };
}

const plan = (extra: Partial<BuildPlan> = {}): BuildPlan => ({
  buildpack: 'node', description: 'x', notes: [], dockerfileContext: {}, port: 5000, healthChecks: DEFAULT_HEALTH_CHECKS, processes: { web: null },
  formation: {}, releaseCommand: null, scripts: NO_DEPLOY_SCRIPTS, cron: [], ...extra,
});
const input = (buildPlan: BuildPlan) => ({
  app: 'shop', buildDir: '/b', plan: buildPlan, tag: 'pi/shop:v3', timeoutSeconds: 60, buildVars: { TOKEN: 'secret-value' }, limits: { cpus: 1, memoryBytes: 1024 ** 3, pids: 4096 },
  maxCacheBytes: 500, imagePolicy: { instance: 'pi', app: 'shop', baseImages: [], allowed: [] },
});

describe('buildReleaseImage', () => {
  it('gives a built site the static buildpack\'s files too', async () => {
    const { deps, calls, output } = fakes();
    await buildReleaseImage(deps, input(plan({ alsoUses: ['static'] })), output);
    assert.deepEqual(calls, ['copyIn /bp/node as buildpack', 'copyIn /bp/static as buildpack-static', 'write Dockerfile.pilot', 'build pi/shop:v3']);
  });

  it('puts the kept framework caches into the build, then keeps the new ones from the image of a one-stage build', async () => {
    const { deps, calls, lines, output } = fakes();
    await buildReleaseImage(deps, input(plan({ buildCacheDirs: ['.next/cache'] })), output);
    assert.deepEqual(calls, [
      'copyIn /bp/node as buildpack',
      'restore shop as build-cache',
      'write Dockerfile.pilot',
      'build pi/shop:v3',
      'copy pi/shop:v3 /app .next/cache -> /b/build-cache-next (at most 500)',
      'keep build-cache-next for shop',
    ]);
    assert.deepEqual(lines, ['-----> Kept the build cache (.next/cache) for the next build']);
  });

  it('takes the caches from the build stage of a multi-stage build, in the app directory', async () => {
    const { deps, calls, output } = fakes(undefined, ['pi/shop:stage-0']);
    await buildReleaseImage(deps, input(plan({ buildCacheDirs: ['node_modules/.vite'], dockerfileContext: { appWorkdir: '/app/apps/web' } })), output);
    assert.ok(calls.includes('copy pi/shop:stage-0 /app/apps/web node_modules/.vite -> /b/build-cache-next (at most 500)'), calls.join('\n'));
  });

  it('still delivers the image when the cache cannot be kept, and says so', async () => {
    const { deps, calls, lines, output } = fakes('copy pi/shop');
    await buildReleaseImage(deps, input(plan({ buildCacheDirs: ['node_modules/.vite'] })), output);
    assert.ok(!calls.some((call) => call.startsWith('keep')), calls.join('\n'));
    assert.deepEqual(lines, ['       the build cache was not kept (the next build starts without it): the engine broke']);
  });
});
