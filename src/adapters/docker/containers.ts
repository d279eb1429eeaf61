import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { AttachedProcess, ContainerPlan } from '../../domain/ports.js';
import { messageOf } from './errors.js';

/** Creates the container on its network, then joins the linked apps' networks before it starts. */
export async function createPlannedContainer(docker: Docker, plan: ContainerPlan): Promise<Docker.Container> {
  const container = await docker.createContainer(containerCreateOptions(plan));
  try {
    for (const network of plan.extraNetworks) await connectNetwork(docker, network, container.id, []);
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
  return container;
}

export async function connectNetwork(docker: Docker, name: string, container: string, aliases: readonly string[]): Promise<void> {
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
    ...(plan.interactive ? { Tty: true } : {}),
    ...(plan.interactive || plan.pipedStdin ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
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
 * Creates, attaches to (before starting, so no output is missed) and starts a one-off
 * container. The container is removed once it exited and its output was delivered.
 */
export async function runAttached(docker: Docker, plan: ContainerPlan, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
  const container = await createPlannedContainer(docker, plan);
  const interactive = plan.interactive === true;
  const stdin = interactive || plan.pipedStdin === true;
  const stream = await container.attach({ stream: true, stdout: true, stderr: true, stdin, hijack: stdin });
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
    stdin: stdin ? (stream as unknown as NodeJS.WritableStream) : undefined,
    exitCode,
    resize: async (columns, rows) => {
      await container.resize({ w: columns, h: rows }).catch(() => undefined);
    },
    kill: async () => {
      await container.remove({ force: true }).catch(() => undefined);
    },
  };
}
