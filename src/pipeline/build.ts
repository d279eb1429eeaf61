import type { BuildRequest, BuildResult, ImageEngine, Workspaces } from '../domain/ports.js';
import { DeployError, PilotError, ValidationError } from '../domain/errors.js';
import type { BuildPlan } from './detect.js';
import type { DeployOutput } from './output.js';
import { buildArgsFor, secretMasker } from './build-vars.js';
import { refusalMessage, refusedImages, type ImagePolicy } from './base-images.js';

export interface BuildDeps {
  readonly images: ImageEngine;
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
  readonly limits: BuildRequest['limits'];
  /** The app's build vars with their values. */
  readonly buildVars: Readonly<Record<string, string>>;
  /** The most a kept framework cache may hold (it goes into every later build's context). */
  readonly maxCacheBytes: number;
  /** Which images the app's own Dockerfile may build from. */
  readonly imagePolicy: ImagePolicy;
}

/** Where the kept framework caches go in the build context (buildpacks/node/Dockerfile.hbs copies them in). */
const BUILD_CACHE = 'build-cache';

/**
 * Builds the release image. A buildpack app gets the rendered Dockerfile (declaring every build
 * var as an ARG) and the buildpack's files next to its tree (`app/`); a Dockerfile app is built
 * from its own tree (its build-dir), as it is, with the build vars its Dockerfile declares.
 */
export async function buildReleaseImage(deps: BuildDeps, input: BuildInput, output: DeployOutput): Promise<void> {
  const { plan, buildDir } = input;
  let contextDir = plan.contextDir ? `${buildDir}/app/${plan.contextDir}` : `${buildDir}/app`;
  let dockerfile = 'Dockerfile';
  let dockerfileText: string;
  if (plan.dockerfileContext) {
    dockerfileText = deps.renderDockerfile(plan.buildpack, { ...plan.dockerfileContext, imageTag: input.tag, buildArgs: Object.keys(input.buildVars).sort() });
    await deps.workspaces.copyIn(buildDir, deps.buildpackDir(plan.buildpack), 'buildpack');
    for (const other of plan.alsoUses ?? []) await deps.workspaces.copyIn(buildDir, deps.buildpackDir(other), `buildpack-${other}`);
    if (plan.buildCacheDirs) await deps.workspaces.restoreBuildCache(buildDir, input.app, BUILD_CACHE);
    await deps.workspaces.writeFile(buildDir, 'Dockerfile.pilot', dockerfileText);
    contextDir = buildDir;
    dockerfile = 'Dockerfile.pilot';
  } else {
    const dockerfilePath = plan.contextDir ? `${plan.contextDir}/Dockerfile` : 'Dockerfile';
    const facts = await deps.workspaces.facts(buildDir, (file) => file === dockerfilePath);
    dockerfileText = facts.contents.get(dockerfilePath) ?? '';
  }
  const { args, undeclared } = buildArgsFor(dockerfileText, input.buildVars);
  if (Object.keys(args).length > 0) output.step(`Build vars: ${Object.keys(args).sort().join(', ')}`);
  if (undeclared.length > 0 && !plan.dockerfileContext) output.detail(`not passed to the build, the Dockerfile declares no ARG for them: ${undeclared.join(', ')}`);
  if (!plan.dockerfileContext) {
    const refused = await refusedImages(deps.images, dockerfileText, args, input.imagePolicy);
    if (refused.length > 0) throw new ValidationError(refusalMessage(refused));
  }
  // All build vars, passed or not: a value the Dockerfile spells out itself is still a secret.
  const mask = secretMasker(Object.values(input.buildVars));
  const request: BuildRequest = { contextDir, dockerfile, tag: input.tag, timeoutSeconds: input.timeoutSeconds, buildArgs: args, limits: input.limits };
  let built: BuildResult;
  try {
    built = await deps.images.buildImage(request, (line) => output.detail(mask(line)));
  } catch (error) {
    throw maskedError(error, mask);
  }
  // The caches are in the build stage: the first of a multi-stage build, else the image itself.
  const cacheSource = built.stageImages[0] ?? input.tag;
  if (plan.buildCacheDirs) await keepBuildCache(deps, input, cacheSource, plan.buildCacheDirs, output, mask);
}

/** The failure becomes the release's failure reason, which deploy tokens read too. */
function maskedError(error: unknown, mask: (text: string) => string): unknown {
  if (!(error instanceof Error) || mask(error.message) === error.message) return error;
  return error instanceof PilotError ? new DeployError(error.code, mask(error.message)) : new Error(mask(error.message));
}

/**
 * The classic builder has no cache mounts: the framework caches the build stage left are copied
 * out of it, and into the next build's context. A cache that cannot be kept only makes the next
 * build slower.
 */
async function keepBuildCache(
  deps: BuildDeps,
  input: BuildInput,
  image: string,
  dirs: readonly string[],
  output: DeployOutput,
  mask: (text: string) => string,
): Promise<void> {
  const appWorkdir = String(input.plan.dockerfileContext?.appWorkdir ?? '/app');
  try {
    await deps.images.copyFromImage(image, appWorkdir, dirs, `${input.buildDir}/${BUILD_CACHE}-next`, input.maxCacheBytes);
    await deps.workspaces.keepBuildCache(input.buildDir, input.app, `${BUILD_CACHE}-next`);
    output.step(`Kept the build cache (${dirs.join(', ')}) for the next build`);
  } catch (error) {
    // Without server paths: the release log is the pusher's to read.
    const reason = mask((error as Error).message).replaceAll(input.buildDir, '<build>');
    output.detail(`the build cache was not kept (the next build starts without it): ${reason}`);
  }
}
