import type Docker from 'dockerode';
import { DeployError } from '../../domain/errors.js';
import { messageOf, statusOf } from './errors.js';

/** One progress event of a pull or a load, as the engine streams them. */
interface ProgressEvent {
  readonly stream?: string;
  readonly status?: string;
  readonly id?: string;
  readonly error?: string;
}

/** Pulls the image unless the engine has it already (a local image deploys without a registry). */
export async function ensureImage(docker: Docker, name: string, onOutput: (line: string) => void): Promise<void> {
  try {
    await docker.getImage(name).inspect();
    return;
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  onOutput(`pulling ${name}`);
  try {
    const stream = await docker.pull(name);
    // Per-layer progress would flood the output: layer states only, once each.
    const seen = new Set<string>();
    await followProgress(docker, stream, (event) => {
      const line = [event.id, event.status].filter(Boolean).join(': ');
      if (event.status && !event.status.startsWith('Downloading') && !event.status.startsWith('Extracting') && !seen.has(line)) {
        seen.add(line);
        onOutput(line);
      }
    });
  } catch (error) {
    throw new DeployError('PILOT_IMAGE_UNAVAILABLE', `the engine has no image ${name} and cannot pull it: ${messageOf(error)}`, { cause: error });
  }
}

/** Loads a `docker save` tarball; the name of the image it held (its id without a tag). */
export async function loadImage(docker: Docker, archive: NodeJS.ReadableStream, onOutput: (line: string) => void): Promise<string> {
  const loaded: string[] = [];
  try {
    const stream = await docker.loadImage(archive, { quiet: true });
    await followProgress(docker, stream, (event) => {
      const line = event.stream?.trim();
      if (!line) return;
      onOutput(line);
      const match = /^Loaded image(?: ID)?: (\S+)$/.exec(line);
      if (match?.[1]) loaded.push(match[1]);
    });
  } catch (error) {
    throw new DeployError('PILOT_IMAGE_ARCHIVE_INVALID', `the image archive could not be loaded (make it with \`docker save NAME -o FILE\`): ${messageOf(error)}`, { cause: error });
  }
  if (loaded.length !== 1) {
    throw new DeployError(
      'PILOT_IMAGE_ARCHIVE_INVALID',
      loaded.length === 0
        ? 'the image archive held no image: make it with `docker save NAME -o FILE`'
        : `the image archive holds ${loaded.length} images (${loaded.join(', ')}): save just the one to deploy`,
    );
  }
  return loaded[0] as string;
}

/** Tags `image` as `repository:tag`; resolves with its id. */
export async function tagImage(docker: Docker, image: string, tag: string): Promise<string> {
  const at = tag.lastIndexOf(':');
  const source = docker.getImage(image);
  await source.tag({ repo: tag.slice(0, at), tag: tag.slice(at + 1) });
  return (await source.inspect()).Id;
}

function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: ProgressEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (error: Error | null) => {
        if (error) reject(error);
        else if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: ProgressEvent) => {
        if (event.error) failure = event.error;
        else onEvent(event);
      },
    );
  });
}
