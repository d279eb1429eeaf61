import Docker from 'dockerode';
import tarFs from 'tar-fs';
import type { BuildRequest, BuildResult } from '../../domain/ports.js';
import { DeployError } from '../../domain/errors.js';
import { BuildProgress } from '../build-progress.js';
import { messageOf } from './errors.js';
import { createBuildCgroup } from './build-cgroup.js';
import { randomBytes } from 'node:crypto';

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * What a failed build leaves: the images of the steps it finished. The last of them (with
 * its parents, the dependency layer among them) is kept under `<repository>:build-cache`, so
 * the next push reuses every step that did not change instead of installing everything
 * again. Tagged, it never dangles; the next good build drops it, and the app's destruction
 * removes it with the app's other tags.
 */
const BUILD_CACHE_TAG = 'build-cache';

/** `<repository>:stage-<n>`: the earlier stages of a multi-stage build (see BuildResult). */
function stageTag(index: number): string {
  return `stage-${index}`;
}

/**
 * Points `<repository>:<tag>` at `image` (or at nothing) and removes the image it pointed at
 * before, with the parents nothing else needs: tagging first, so an image that stays the
 * same is never removed (its layers are the cache a retried build reuses).
 */
async function retag(docker: Docker, repository: string, tag: string, image: string | undefined): Promise<void> {
  const name = `${repository}:${tag}`;
  const idOf = (reference: string) => docker.getImage(reference).inspect().then((info) => info.Id, () => undefined);
  const previous = await idOf(name);
  if (image !== undefined) {
    try {
      await docker.getImage(image).tag({ repo: repository, tag });
    } catch {
      // 404: the step's image is already gone; nothing to keep.
    }
  }
  if (previous === undefined) return;
  const now = image === undefined ? undefined : await idOf(name);
  if (previous === now) return;
  try {
    // Nothing to point at: untag and remove it; else remove the image the tag left, by id.
    await docker.getImage(image === undefined ? name : previous).remove({ noprune: false });
  } catch {
    // 409: a child image or a container still needs it, so it does not dangle; 404: gone.
  }
}

/** Keeps what a build left: its earlier stages, and the failed build's finished steps. */
async function keepBuildLeftovers(docker: Docker, repository: string, progress: BuildProgress, failed: boolean): Promise<BuildResult> {
  const stageImages = progress.earlierStageImages;
  for (const [index, image] of stageImages.entries()) await retag(docker, repository, stageTag(index), image);
  // Stages an earlier build had and this one has not.
  const stale = await docker.listImages({ filters: { reference: [`${repository}:stage-*`] } });
  for (const tag of stale.flatMap((info) => info.RepoTags ?? [])) {
    const index = Number(/:stage-(\d+)$/.exec(tag)?.[1] ?? -1);
    if (index >= stageImages.length) await retag(docker, repository, stageTag(index), undefined);
  }
  await retag(docker, repository, BUILD_CACHE_TAG, failed ? progress.lastStepImage : undefined);
  return { stageImages: stageImages.map((image, index) => (image === undefined ? undefined : `${repository}:${stageTag(index)}`)) };
}

function repositoryOf(tag: string): string {
  return tag.replace(/:[^:/]+$/, '');
}

const CPU_PERIOD_MICROSECONDS = 100_000;

/**
 * The classic builder's caps for every RUN container: a CPU quota, half the default CPU
 * weight (a busy app wins a contended core over a build) and memory without extra swap.
 */
export function buildLimitOptions(limits: Pick<BuildRequest['limits'], 'cpus' | 'memoryBytes'>): { cpuperiod: number; cpuquota: number; cpushares: number; memory: number; memswap: number } {
  return {
    cpuperiod: CPU_PERIOD_MICROSECONDS,
    cpuquota: Math.round(limits.cpus * CPU_PERIOD_MICROSECONDS),
    cpushares: 512,
    memory: limits.memoryBytes,
    memswap: limits.memoryBytes,
  };
}

/** Pulls without credentials: what a build pulls is public. A failure arrives as an event, as in builds. */
export async function pullImage(docker: Docker, name: string): Promise<void> {
  let failure: string | undefined;
  try {
    const stream = await docker.pull(name);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve()), (event: BuildEvent) => {
        if (event.error) failure ??= event.errorDetail?.message ?? event.error;
      });
    });
  } catch (error) {
    failure ??= messageOf(error);
  }
  if (failure) throw new DeployError('PILOT_BUILD_FAILED', `build failed: the image ${name} is not on this host and could not be pulled: ${failure.trim()}`);
}

export async function buildImage(docker: Docker, request: BuildRequest, cgroupDriver: string, onOutput: (line: string) => void): Promise<BuildResult> {
  const cgroup = createBuildCgroup(`pilot-build-${request.tag.replace(/[^A-Za-z0-9]+/g, '-')}-${randomBytes(3).toString('hex')}`, request.limits.pids, cgroupDriver);
  if (cgroup.unavailable) onOutput(`(this build is not capped in processes: ${cgroup.unavailable})\n`);
  try {
    return await buildCapped(docker, request, cgroup.parent, onOutput);
  } finally {
    // The steps' containers are gone by now (forcerm): so can their cgroup be.
    cgroup.remove();
  }
}

async function buildCapped(docker: Docker, request: BuildRequest, cgroupParent: string | undefined, onOutput: (line: string) => void): Promise<BuildResult> {
  // tar-fs returns a streamx stream; dockerode only pipes it, which streamx supports.
  const context = tarFs.pack(request.contextDir) as unknown as NodeJS.ReadableStream;
  const stream = await docker.buildImage(context, {
    t: request.tag,
    dockerfile: request.dockerfile,
    rm: true,
    forcerm: true,
    ...buildLimitOptions(request.limits),
    ...(cgroupParent ? { cgroupparent: cgroupParent } : {}),
    buildargs: { ...request.buildArgs },
  });
  let failure: string | undefined;
  const progress = new BuildProgress(onOutput);
  const timer = setTimeout(() => {
    failure = `the build took longer than ${request.timeoutSeconds} s (PILOT_BUILD_TIMEOUT) and was stopped`;
    (stream as unknown as { destroy(): void }).destroy();
  }, request.timeoutSeconds * 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error) => (error && !failure ? reject(error) : resolve()),
        (event: BuildEvent) => {
          // A failed build does not reject: the error arrives as an event.
          if (event.error) failure ??= event.errorDetail?.message ?? event.error;
          const text = event.stream ?? event.status;
          if (text) progress.push(text);
        },
      );
    });
  } catch (error) {
    failure ??= messageOf(error);
  } finally {
    clearTimeout(timer);
    progress.end();
  }
  const kept = await keepBuildLeftovers(docker, repositoryOf(request.tag), progress, failure !== undefined);
  if (failure) throw new DeployError('PILOT_BUILD_FAILED', `build failed: ${failure.trim()}`);
  return kept;
}
