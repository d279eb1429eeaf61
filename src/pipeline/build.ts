import type { ContainerEngine, Workspaces } from '../domain/ports.js';
import type { BuildPlan } from './detect.js';
import type { DeployOutput } from './output.js';

export interface BuildDeps {
  readonly engine: ContainerEngine;
  readonly workspaces: Workspaces;
  readonly renderDockerfile: (buildpack: string, context: object) => string;
  readonly buildpackDir: (buildpack: string) => string;
}

export interface BuildInput {
  readonly app: string;
  readonly buildDir: string;
  readonly plan: BuildPlan;
  readonly tag: string;
  readonly timeoutSeconds: number;
}

/** Where the kept framework caches go in the build context (buildpacks/node/Dockerfile.hbs copies them in). */
const BUILD_CACHE = 'build-cache';

/**
 * Builds the release image. A buildpack app gets the rendered Dockerfile and the buildpack's
 * files next to its tree (`app/`); a Dockerfile app is built from its own tree, as it is.
 */
export async function buildReleaseImage(deps: BuildDeps, input: BuildInput, output: DeployOutput): Promise<void> {
  const { plan, buildDir } = input;
  let contextDir = `${buildDir}/app`;
  let dockerfile = 'Dockerfile';
  if (plan.dockerfileContext) {
    await deps.workspaces.copyIn(buildDir, deps.buildpackDir(plan.buildpack), 'buildpack');
    for (const other of plan.alsoUses ?? []) await deps.workspaces.copyIn(buildDir, deps.buildpackDir(other), `buildpack-${other}`);
    if (plan.buildCacheDirs) await deps.workspaces.restoreBuildCache(buildDir, input.app, BUILD_CACHE);
    await deps.workspaces.writeFile(buildDir, 'Dockerfile.pilot', deps.renderDockerfile(plan.buildpack, plan.dockerfileContext));
    contextDir = buildDir;
    dockerfile = 'Dockerfile.pilot';
  }
  const request = { contextDir, dockerfile, tag: input.tag, timeoutSeconds: input.timeoutSeconds };
  await deps.engine.buildImage(request, (line) => output.detail(line));
  if (plan.buildCacheDirs) await keepBuildCache(deps, input, request, plan.buildCacheDirs, output);
}

/**
 * The classic builder has no cache mounts: the framework caches the build stage left are copied
 * out of it, and into the next build's context. The stage is built again (every step is cached)
 * to tag it for a moment; a cache that cannot be kept only makes the next build slower.
 */
async function keepBuildCache(
  deps: BuildDeps,
  input: BuildInput,
  request: { contextDir: string; dockerfile: string; tag: string; timeoutSeconds: number },
  dirs: readonly string[],
  output: DeployOutput,
): Promise<void> {
  const stage = `${input.tag}-build`;
  try {
    await deps.engine.buildImage({ ...request, tag: stage, target: 'build' }, () => undefined);
    await deps.engine.copyFromImage(stage, '/app', dirs, `${input.buildDir}/${BUILD_CACHE}-next`);
    await deps.workspaces.keepBuildCache(input.buildDir, input.app, `${BUILD_CACHE}-next`);
    output.step(`Kept the build cache (${dirs.join(', ')}) for the next build`);
  } catch (error) {
    output.detail(`the build cache was not kept (the next build starts without it): ${(error as Error).message}`);
  } finally {
    await deps.engine.untagImage(stage).catch(() => undefined);
  }
}
