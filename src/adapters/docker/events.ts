import Docker from 'dockerode';

/** How long to wait before following the engine's events again after it went away. */
const EVENTS_RETRY_MS = 1000;

export function watchContainerStarts(docker: Docker, labels: Readonly<Record<string, string>>, listener: () => void): { stop(): void } {
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
