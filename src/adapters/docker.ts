// First: before dockerode loads.
import './docker/transports-on-first-use.js';
import Docker from 'dockerode';
import tarFs from 'tar-fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ContainerEngine, ContainerState } from '../domain/ports.js';
import { DependencyError, DeployError } from '../domain/errors.js';
import { ByteLimit } from './byte-limit.js';
import { buildImage, pullImage } from './docker/build.js';
import { ensureImage, loadImage, tagImage } from './docker/images.js';
import { connectNetwork, createPlannedContainer, runAttached } from './docker/containers.js';
import { messageOf, statusOf } from './docker/errors.js';
import { followContainerEvents, watchContainerStarts } from './docker/events.js';
import { demuxedText, streamLogs } from './docker/logs.js';
import { engineDiskUsage, processStats, type DockerDiskUsage, type DockerStats } from './docker/stats.js';

/** The events that change what a container is (exec, attach, top and the like do not). */
const LIFECYCLE_ACTIONS = ['create', 'start', 'restart', 'die', 'stop', 'oom', 'destroy', 'pause', 'unpause', 'update', 'health_status'];

/** The ContainerEngine port on top of dockerode (DOCKER_HOST is read by dockerode itself). */
export function createDockerEngine(docker: Docker = new Docker()): ContainerEngine & { docker: Docker } {
  /** The engine's cgroup driver, asked once: builds are capped in pids under cgroupfs (docker/build-cgroup.ts). */
  let cgroupDriver: Promise<string> | undefined;
  let rootDir: string | undefined;
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

    async buildImage(request, onOutput) {
      cgroupDriver ??= docker.info().then((info: { CgroupDriver?: string }) => info.CgroupDriver ?? 'unknown', () => 'unknown');
      return buildImage(docker, request, await cgroupDriver, onOutput);
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

    async containerStats(idOrName) {
      try {
        // one-shot: one reading now, without the second Docker waits for to fill `precpu_stats`.
        const stats = await docker.getContainer(idOrName).stats({ stream: false, 'one-shot': true } as { stream: false });
        return processStats(stats as DockerStats);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },

    async diskUsage() {
      rootDir ??= ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir;
      return engineDiskUsage((await docker.df()) as DockerDiskUsage, rootDir);
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

    watchContainerEvents(labels, onEvent, onFollowing) {
      return followContainerEvents(docker, labels, LIFECYCLE_ACTIONS, onEvent, onFollowing);
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

    ensureImage(name, onOutput) {
      return ensureImage(docker, name, onOutput);
    },

    loadImage(archive, onOutput) {
      return loadImage(docker, archive, onOutput);
    },

    tagImage(image, tag) {
      return tagImage(docker, image, tag);
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
