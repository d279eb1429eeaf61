import Docker from 'dockerode';
import tarFs from 'tar-fs';
import { PassThrough, Readable } from 'node:stream';
import readline from 'node:readline';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type {
  AttachedProcess, BuildRequest, BuildResult, ContainerEngine, ContainerPlan, ContainerState, LogStream, LogStreamOptions, TimestampedLine,
} from '../domain/ports.js';
import { DependencyError, DeployError } from '../domain/errors.js';
import { BuildProgress } from './build-progress.js';
import { ByteLimit } from './byte-limit.js';

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The ContainerEngine port on top of dockerode (DOCKER_HOST is read by dockerode itself). */
export function createDockerEngine(docker: Docker = new Docker()): ContainerEngine & { docker: Docker } {
  return {
    docker,

    async ping() {
      try {
        await docker.ping();
      } catch (error) {
        throw new DependencyError('PILOT_DOCKER_UNREACHABLE', `the Docker engine does not answer: ${messageOf(error)}`, {
          cause: error,
        });
      }
    },

    buildImage(request, onOutput) {
      return buildImage(docker, request, onOutput);
    },

    async exposedPort(image) {
      const info = await docker.getImage(image).inspect();
      const ports = Object.keys(info.Config?.ExposedPorts ?? {})
        .filter((port) => port.endsWith('/tcp') || !port.includes('/'))
        .map((port) => Number.parseInt(port, 10))
        .filter((port) => Number.isInteger(port) && port > 0);
      return ports[0];
    },

    async ensureNetwork(name, labels) {
      const existing = await docker.listNetworks({ filters: { name: [name] } });
      if (existing.some((network) => network.Name === name)) return;
      try {
        await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { ...labels }, CheckDuplicate: true });
      } catch (error) {
        if (/non-overlapping IPv4 address pool/.test(messageOf(error))) {
          throw new DependencyError(
            'PILOT_NETWORKS_EXHAUSTED',
            `Docker has no address range left for ${name}: every app has a network of its own and Docker's default pools hold about 30; ` +
              'add "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}] to /etc/docker/daemon.json and restart Docker',
            { cause: error },
          );
        }
        if (statusOf(error) !== 409) throw error;
      }
    },

    async removeNetwork(name) {
      const network = docker.getNetwork(name);
      try {
        const info = (await network.inspect()) as { Containers?: Record<string, unknown> };
        for (const container of Object.keys(info.Containers ?? {})) await network.disconnect({ Container: container, Force: true });
        await network.remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },

    async connectNetwork(name, container) {
      await connectNetwork(docker, name, container, []);
    },

    async disconnectNetwork(name, container) {
      try {
        await docker.getNetwork(name).disconnect({ Container: container, Force: true });
      } catch (error) {
        // 404: no such network or container.
        if (statusOf(error) !== 404 && !/is not connected/.test(messageOf(error))) throw error;
      }
    },

    async startContainer(plan) {
      const container = await createPlannedContainer(docker, plan);
      try {
        await container.start();
      } catch (error) {
        await container.remove({ force: true }).catch(() => undefined);
        throw error;
      }
      return container.id;
    },

    async keepRunning(idOrName) {
      await docker.getContainer(idOrName).update({ RestartPolicy: { Name: 'unless-stopped' } });
    },

    async inspectContainer(idOrName) {
      try {
        const info = await docker.getContainer(idOrName).inspect();
        const networks = Object.values(info.NetworkSettings.Networks ?? {});
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ''),
          running: info.State.Running && !info.State.Restarting,
          status: info.State.Status,
          exitCode: info.State.ExitCode,
          startedAt: info.State.StartedAt && !info.State.StartedAt.startsWith('0001') ? info.State.StartedAt : undefined,
          restartCount: info.RestartCount,
          ip: networks.map((network) => network.IPAddress).find((ip) => ip !== ''),
          labels: info.Config.Labels ?? {},
        };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },

    async containerLogs(idOrName, tailLines) {
      const output = (await docker.getContainer(idOrName).logs({ stdout: true, stderr: true, tail: tailLines, follow: false })) as Buffer;
      return demuxedText(output);
    },

    async ensureVolume(name, labels) {
      await docker.createVolume({ Name: name, Labels: { ...labels } });
    },

    async listVolumes(labels) {
      const filters = { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
      return ((await docker.listVolumes({ filters })).Volumes ?? []).map((volume) => volume.Name);
    },

    async removeVolume(name) {
      try {
        await docker.getVolume(name).remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },

    runAttached(plan, onOutput) {
      return runAttached(docker, plan, onOutput);
    },

    streamLogs(idOrName, options, onLine) {
      return streamLogs(docker, idOrName, options, onLine);
    },

    watchContainerStarts(labels, listener) {
      return watchContainerStarts(docker, labels, listener);
    },

    async restartContainer(idOrName, timeoutSeconds) {
      await docker.getContainer(idOrName).restart({ t: Math.ceil(timeoutSeconds) });
    },

    async resumeContainer(idOrName) {
      try {
        await docker.getContainer(idOrName).start();
      } catch (error) {
        // 304: already running.
        if (statusOf(error) !== 304) throw error;
      }
    },

    async stopContainer(idOrName, timeoutSeconds) {
      try {
        await docker.getContainer(idOrName).stop({ t: Math.ceil(timeoutSeconds) });
      } catch (error) {
        // 304: already stopped; 404: already gone. Both are the state we want.
        if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
      }
    },

    async removeContainer(idOrName) {
      try {
        await docker.getContainer(idOrName).remove({ force: true, v: false });
      } catch (error) {
        if (statusOf(error) === 404) return;
        // 409: another removal of it is under way; done once it is gone.
        if (statusOf(error) !== 409) throw error;
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const gone = await docker.getContainer(idOrName).inspect().then(() => false, (inspectError: unknown) => statusOf(inspectError) === 404);
          if (gone) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw error;
      }
    },

    async listContainers(labels) {
      const filters = { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
      const summaries = await docker.listContainers({ all: true, filters });
      return summaries.map(
        (summary): ContainerState => ({
          id: summary.Id,
          name: (summary.Names[0] ?? '').replace(/^\//, ''),
          running: summary.State === 'running',
          status: summary.State,
          exitCode: 0,
          startedAt: undefined,
          restartCount: 0,
          ip: Object.values(summary.NetworkSettings?.Networks ?? {})
            .map((network) => network.IPAddress)
            .find((ip) => ip !== ''),
          labels: summary.Labels ?? {},
        }),
      );
    },

    async imageExists(name) {
      try {
        await docker.getImage(name).inspect();
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    },

    async imageOrigin(name) {
      const inspect = () => docker.getImage(name).inspect();
      const info = await inspect().catch(async (error: unknown) => {
        if (statusOf(error) !== 404) throw error;
        await pullImage(docker, name);
        return inspect();
      });
      return { fromRegistry: (info.RepoDigests ?? []).length > 0, onBuild: info.Config?.OnBuild ?? [] };
    },

    async listImages(repository) {
      const images = await docker.listImages({ all: false, filters: { reference: [repository] } });
      return images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    },

    async removeImage(name) {
      try {
        await docker.getImage(name).remove({ noprune: false });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },

    async copyFromImage(image, root, dirs, destDir, maxBytes) {
      // A container that never starts: only its filesystem is read.
      const container = await docker.createContainer({ Image: image, Entrypoint: ['/bin/true'], Cmd: [] });
      const tooLarge = () => new DeployError('PILOT_BUILD_CACHE_TOO_LARGE', `the build cache is larger than ${Math.round(maxBytes / 1024 ** 2)} MB (PILOT_MAX_PUSH_MB)`);
      // One budget across all the directories: the cache goes into every later build's context.
      let left = maxBytes;
      try {
        for (const dir of dirs) {
          let archive: NodeJS.ReadableStream;
          try {
            archive = await container.getArchive({ path: path.posix.join(root, dir) });
          } catch (error) {
            if (statusOf(error) === 404) continue;
            throw error;
          }
          // The archive holds the directory under its own name: unpack it into its parent.
          const parent = path.join(destDir, path.dirname(dir));
          await fs.mkdir(parent, { recursive: true });
          const limit = new ByteLimit(left, tooLarge);
          await pipeline(archive, limit, tarFs.extract(parent) as unknown as NodeJS.WritableStream);
          left -= limit.passed;
        }
      } finally {
        await container.remove({ force: true }).catch(() => undefined);
      }
    },
  };
}

/** Creates the container on its network, then joins the linked apps' networks before it starts. */
async function createPlannedContainer(docker: Docker, plan: ContainerPlan): Promise<Docker.Container> {
  const container = await docker.createContainer(containerCreateOptions(plan));
  try {
    for (const network of plan.extraNetworks) await connectNetwork(docker, network, container.id, []);
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
  return container;
}

async function connectNetwork(docker: Docker, name: string, container: string, aliases: readonly string[]): Promise<void> {
  try {
    await docker.getNetwork(name).connect({ Container: container, EndpointConfig: { Aliases: [...aliases] } });
  } catch (error) {
    // The container is on it already.
    if (!/already exists in network/.test(messageOf(error))) throw error;
  }
}

/** Maps the engine-neutral plan to Docker's create options, one to one. */
export function containerCreateOptions(plan: ContainerPlan): Docker.ContainerCreateOptions {
  return {
    name: plan.name,
    Image: plan.image,
    Env: Object.entries(plan.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...plan.labels },
    ...(plan.command ? { Cmd: [...plan.command] } : {}),
    ...(plan.interactive ? { Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
    AttachStdout: true,
    AttachStderr: true,
    NetworkingConfig: { EndpointsConfig: { [plan.network]: { Aliases: [...plan.aliases] } } },
    HostConfig: {
      Mounts: plan.mounts.map((mount) => ({ Type: 'volume' as const, Source: mount.volume, Target: mount.path })),
      NetworkMode: plan.network,
      RestartPolicy: { Name: plan.restartPolicy },
      Memory: plan.memoryBytes,
      NanoCpus: plan.nanoCpus,
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...plan.capAdd],
      // No setuid binary or file capability gives a process more than its parent had.
      SecurityOpt: ['no-new-privileges:true'],
      PidsLimit: plan.pidsLimit,
      LogConfig: { Type: 'json-file', Config: { 'max-size': plan.logMaxSize, 'max-file': String(plan.logMaxFiles) } },
    },
  };
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
export function buildLimitOptions(limits: BuildRequest['limits']): { cpuperiod: number; cpuquota: number; cpushares: number; memory: number; memswap: number } {
  return {
    cpuperiod: CPU_PERIOD_MICROSECONDS,
    cpuquota: Math.round(limits.cpus * CPU_PERIOD_MICROSECONDS),
    cpushares: 512,
    memory: limits.memoryBytes,
    memswap: limits.memoryBytes,
  };
}

/** Pulls without credentials: what a build pulls is public. A failure arrives as an event, as in builds. */
async function pullImage(docker: Docker, name: string): Promise<void> {
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

async function buildImage(docker: Docker, request: BuildRequest, onOutput: (line: string) => void): Promise<BuildResult> {
  // tar-fs returns a streamx stream; dockerode only pipes it, which streamx supports.
  const context = tarFs.pack(request.contextDir) as unknown as NodeJS.ReadableStream;
  const stream = await docker.buildImage(context, {
    t: request.tag,
    dockerfile: request.dockerfile,
    rm: true,
    forcerm: true,
    ...buildLimitOptions(request.limits),
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

/**
 * Creates, attaches to (before starting, so no output is missed) and starts a one-off
 * container. The container is removed once it exited and its output was delivered.
 */
async function runAttached(docker: Docker, plan: ContainerPlan, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
  const container = await createPlannedContainer(docker, plan);
  const interactive = plan.interactive === true;
  const stream = await container.attach({ stream: true, stdout: true, stderr: true, stdin: interactive, hijack: interactive });
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  if (interactive) {
    stream.on('data', (chunk: Buffer) => onOutput('stdout', chunk));
  } else {
    const stdout = new PassThrough().on('data', (chunk: Buffer) => onOutput('stdout', chunk));
    const stderr = new PassThrough().on('data', (chunk: Buffer) => onOutput('stderr', chunk));
    docker.modem.demuxStream(stream, stdout, stderr);
  }
  try {
    await container.start();
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
  const exitCode = (async () => {
    try {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      // The output stream ends shortly after the process; wait for its last bytes.
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000))]);
      return StatusCode;
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  })();
  return {
    stdin: interactive ? (stream as unknown as NodeJS.WritableStream) : undefined,
    exitCode,
    resize: async (columns, rows) => {
      await container.resize({ w: columns, h: rows }).catch(() => undefined);
    },
    kill: async () => {
      await container.remove({ force: true }).catch(() => undefined);
    },
  };
}

async function streamLogs(
  docker: Docker,
  idOrName: string,
  options: LogStreamOptions,
  onLine: (line: TimestampedLine) => void,
): Promise<LogStream> {
  const container = docker.getContainer(idOrName);
  const info = await container.inspect();
  const query = {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(options.sinceSeconds !== undefined ? { since: options.sinceSeconds } : {}),
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
  };
  // dockerode's typings want a number for `since`; the engine takes `seconds.nanoseconds`.
  const raw = options.follow
    ? await container.logs({ ...query, follow: true } as unknown as Docker.ContainerLogsOptions & { follow: true })
    : await container.logs({ ...query, follow: false } as unknown as Docker.ContainerLogsOptions & { follow?: false });
  const source: NodeJS.ReadableStream = Buffer.isBuffer(raw) ? Readable.from([raw]) : raw;
  const outputs = { stdout: new PassThrough(), stderr: new PassThrough() };
  for (const [stream, passThrough] of Object.entries(outputs) as ['stdout' | 'stderr', PassThrough][]) {
    readline.createInterface({ input: passThrough, crlfDelay: Infinity }).on('line', (line) => {
      const space = line.indexOf(' ');
      if (space > 0) onLine({ time: line.slice(0, space), stream, text: line.slice(space + 1) });
    });
  }
  if (info.Config.Tty) source.pipe(outputs.stdout);
  else docker.modem.demuxStream(source, outputs.stdout, outputs.stderr);
  const done = new Promise<void>((resolve) => {
    const finish = (): void => {
      outputs.stdout.end();
      outputs.stderr.end();
      // Let readline emit the last lines before reporting the end.
      setImmediate(resolve);
    };
    source.on('end', finish);
    source.on('close', finish);
    source.on('error', finish);
  });
  return {
    stop: () => (source as unknown as { destroy?: () => void }).destroy?.(),
    done,
  };
}

/** Docker multiplexes stdout and stderr in 8-byte framed chunks when there is no TTY. */
export function demuxedText(output: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= output.length && output[offset + 1] === 0 && output[offset + 2] === 0 && output[offset + 3] === 0) {
    const size = output.readUInt32BE(offset + 4);
    parts.push(output.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset === 0) return output.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? (error as { statusCode: number }).statusCode : undefined;
}

function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = (error as { json?: { message?: string } }).json;
    if (json?.message) return json.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** How long to wait before following the engine's events again after it went away. */
const EVENTS_RETRY_MS = 1000;

function watchContainerStarts(docker: Docker, labels: Readonly<Record<string, string>>, listener: () => void): { stop(): void } {
  let stopped = false;
  let current: NodeJS.ReadableStream | undefined;
  let retry: NodeJS.Timeout | undefined;
  const filters = { type: ['container' as const], event: ['start'], label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
  const follow = (): void => {
    docker.getEvents({ filters }).then(
      (stream) => {
        if (stopped) return void (stream as unknown as { destroy(): void }).destroy();
        current = stream;
        // One JSON object per event; the content does not matter, only that a container started.
        stream.on('data', () => listener());
        stream.on('error', () => undefined);
        stream.on('close', again);
        stream.on('end', again);
      },
      again,
    );
  };
  function again(): void {
    current = undefined;
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      follow();
      // Containers may have started while nobody listened (the engine restarting).
      listener();
    }, EVENTS_RETRY_MS);
  }
  follow();
  return {
    stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      (current as unknown as { destroy(): void } | undefined)?.destroy();
    },
  };
}
