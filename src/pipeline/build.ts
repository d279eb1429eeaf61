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
  readonly buildDir: string;
  readonly plan: BuildPlan;
  readonly tag: string;
  readonly timeoutSeconds: number;
}

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
    await deps.workspaces.writeFile(buildDir, 'Dockerfile.pilot', deps.renderDockerfile(plan.buildpack, plan.dockerfileContext));
    contextDir = buildDir;
    dockerfile = 'Dockerfile.pilot';
  }
  await deps.engine.buildImage(
    { contextDir, dockerfile, tag: input.tag, timeoutSeconds: input.timeoutSeconds },
    (line) => output.detail(line),
  );
}
