import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerEngine, LogStreamOptions, TimestampedLine } from '../../../../src/domain/ports.js';
import { followContainerLog } from '../../../../src/adapters/caddy/container-log.js';
import { waitFor } from '../../../helpers/integration.js';

/**
 * A container's output as an engine streams it: each open gets the lines from `since` on (from
 * its whole second: inclusive, and coarser than what was asked), then each new line, until it ends.
 */
function fakeEngine() {
  const lines: TimestampedLine[] = [];
  const opens: (string | undefined)[] = [];
  let current: ((line: TimestampedLine) => void) | undefined;
  let end: (() => void) | undefined;
  let missing = false;
  const engine: Pick<ContainerEngine, 'streamLogs'> = {
    streamLogs: async (_container: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void) => {
      opens.push(options.sinceSeconds);
      if (missing) throw Object.assign(new Error('no such container'), { statusCode: 404 });
      const since = Math.floor(Number(options.sinceSeconds ?? 0));
      for (const line of lines) if (Date.parse(line.time) / 1000 >= since) onLine(line);
      current = onLine;
      const done = new Promise<void>((resolve) => (end = () => {
        current = undefined;
        resolve();
      }));
      return { stop: () => end?.(), done };
    },
  };
  return {
    engine, opens,
    write: (time: string, text: string) => {
      const line = { time, stream: 'stdout' as const, text };
      lines.push(line);
      current?.(line);
    },
    end: () => end?.(),
    setMissing: (value: boolean) => (missing = value),
  };
}

describe("followContainerLog (Caddy's output in swarm mode)", () => {
  it('starts from now, and after the stream ends (a restart) or the container is missing a while, goes on from the last line seen, each line once', async () => {
    const fake = fakeEngine();
    fake.write('2026-12-01T10:00:00Z', 'before Pilot started');
    const seen: string[] = [];
    const stop = followContainerLog(fake.engine, 'pt-caddy', (text) => seen.push(text), 5, () => Date.parse('2026-12-01T10:00:01Z'));
    await waitFor('the first open', async () => fake.opens.length === 1 || undefined, 2000, 5);
    assert.equal(fake.opens[0], '1796119201.000000000', 'from the start of Pilot on');
    fake.write('2026-12-01T10:00:02.5Z', 'one');
    fake.write('2026-12-01T10:00:02.75Z', 'two');
    assert.deepEqual(seen, ['one', 'two']);
    fake.setMissing(true);
    fake.end();
    await waitFor('tries while the container is missing', async () => fake.opens.length >= 3 || undefined, 2000, 5);
    fake.setMissing(false);
    await waitFor('open again', async () => fake.opens.at(-1) === '1796119202.750000000' || undefined, 2000, 5);
    fake.write('2026-12-01T10:00:03Z', 'three');
    fake.end();
    await waitFor('the line after the reconnection', async () => seen.length === 3 || undefined, 2000, 5);
    stop();
    assert.deepEqual(seen, ['one', 'two', 'three'], 'what the engine gave again (its second, the last line) came once');
    const opened = fake.opens.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(fake.opens.length, opened, 'a stopped follower opens nothing more');
  });
});
