import Docker from 'dockerode';

/** How long to wait before following the engine's events again after it went away. */
const EVENTS_RETRY_MS = 1000;

/** One event of a container (or of a swarm node), as the engine reports it. */
export interface ContainerEvent {
  readonly id: string;
  /** Docker's action: create, start, die, stop, kill, restart, oom, destroy, pause, unpause...; a node's: create, update, remove. */
  readonly action: string;
}

/**
 * Follows the engine's events of the containers carrying `labels` (those `actions` only, all
 * when empty) until `stop()`, across engine restarts. `onFollowing` is called each time the
 * stream is (re)connected: events may have been missed before it, so the caller lists again.
 */
export function followContainerEvents(
  docker: Docker,
  labels: Readonly<Record<string, string>>,
  actions: readonly string[],
  onEvent: (event: ContainerEvent) => void,
  onFollowing: () => void,
): { stop(): void } {
  const filters = {
    type: ['container'],
    ...(actions.length > 0 ? { event: [...actions] } : {}),
    label: Object.entries(labels).map(([key, value]) => `${key}=${value}`),
  };
  return followEngineEvents(docker, filters, onEvent, onFollowing);
}

/**
 * Follows the engine's events matching `filters` (the `docker events --filter` ones) until
 * `stop()`, across engine restarts; `onFollowing` as for followContainerEvents.
 */
export function followEngineEvents(
  docker: Docker,
  filters: Readonly<Record<string, readonly string[]>>,
  onEvent: (event: ContainerEvent) => void,
  onFollowing: () => void,
): { stop(): void } {
  let stopped = false;
  let current: NodeJS.ReadableStream | undefined;
  let retry: NodeJS.Timeout | undefined;
  const follow = (): void => {
    docker.getEvents({ filters: filters as Record<string, string[]> }).then(
      (stream) => {
        if (stopped) return void (stream as unknown as { destroy(): void }).destroy();
        current = stream;
        onFollowing();
        let pending = '';
        // One JSON object per line; a chunk may end in the middle of one.
        stream.on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            const event = parseEvent(line);
            if (event) onEvent(event);
          }
        });
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

function parseEvent(line: string): ContainerEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const event = JSON.parse(line) as { id?: unknown; Action?: unknown; status?: unknown; Actor?: { ID?: unknown } };
    const id = typeof event.Actor?.ID === 'string' ? event.Actor.ID : event.id;
    const action = typeof event.Action === 'string' ? event.Action : event.status;
    // exec_start: ls -l and the like carry a suffix after the action's name.
    return typeof id === 'string' && typeof action === 'string' ? { id, action: action.split(':')[0] ?? action } : undefined;
  } catch {
    return undefined;
  }
}

/** Calls `listener` whenever a container with these labels starts, and after every reconnect (starts may have been missed). */
export function watchContainerStarts(docker: Docker, labels: Readonly<Record<string, string>>, listener: () => void): { stop(): void } {
  let first = true;
  return followContainerEvents(docker, labels, ['start'], () => listener(), () => {
    if (!first) listener();
    first = false;
  });
}
