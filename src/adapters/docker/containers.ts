import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { AttachedProcess, ContainerPlan } from '../../domain/ports.js';

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
    HostConfig: {
      Mounts: plan.mounts.map((mount) => ({ Type: 'volume' as const, Source: mount.volume, Target: mount.path })),
      NetworkMode: plan.network,
      RestartPolicy: { Name: plan.restartPolicy },
      Memory: plan.memoryBytes,
      NanoCpus: plan.nanoCpus,
      Privileged: false,
      LogConfig: { Type: 'json-file', Config: { 'max-size': plan.logMaxSize, 'max-file': String(plan.logMaxFiles) } },
    },
  };
}

/**
 * Creates, attaches to (before starting, so no output is missed) and starts a one-off
 * container. The container is removed once it exited and its output was delivered.
 */
export async function runAttached(docker: Docker, plan: ContainerPlan, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
  const container = await docker.createContainer(containerCreateOptions(plan));
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
