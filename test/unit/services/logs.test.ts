import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildCore, type Core } from '../../helpers/core.js';
import { waitFor } from '../../helpers/integration.js';
import { LogService, fullTimestamp, timestampNanos } from '../../../src/services/logs.js';
import { processLabel } from '../../../src/domain/process-identity.js';
import type { App } from '../../../src/domain/types.js';
import type { LogLine } from '../../../src/domain/shapes.js';

/** Strictly increasing times near now, as Docker stamps lines (nanoseconds; trailing zeros trimmed as Docker does). */
function clock(): () => string {
  let tick = 0n;
  return () => {
    tick += 1n;
    return fullTimestamp(BigInt(Date.now()) * 1_000_000n + tick).replace(/0+Z$/, 'Z');
  };
}

/** A live release of `shop` with web.1, web.2 and worker.1 running. */
async function webAndWorker(): Promise<{ core: Core; app: App; logs: LogService; ids: Map<string, string> }> {
  const core = buildCore();
  const app = core.apps.create('shop');
  core.formation.set(app.id, { web: 2, worker: 1 });
  await core.liveRelease(app, { processes: { web: null, worker: 'node worker.js' } });
  const logs = new LogService({ releases: core.releases, runtime: core.runtime, timing: { pollMs: 10, settleMs: 20 } });
  return { core, app, logs, ids: await idsByLabel(core) };
}

async function idsByLabel(core: Core): Promise<Map<string, string>> {
  return new Map((await core.runtime.list({ app: 'shop' })).map((process) => [`v${process.identity.release} ${processLabel(process.identity)}`, process.id]));
}

function id(ids: Map<string, string>, label: string): string {
  const found = ids.get(label);
  assert.ok(found, `${label} runs`);
  return found;
}

const shown = (lines: readonly LogLine[]): string[] => lines.map((line) => `${line.process} | ${line.text}`);

describe('logs of every process of the live release (fake runtime)', () => {
  it('tail merges web and worker lines in time order, each named by its process, and keeps the last N of all', async () => {
    const { app, core, logs, ids } = await webAndWorker();
    const now = clock();
    core.runtime.writeLog(id(ids, 'v1 web.1'), 'a', now());
    core.runtime.writeLog(id(ids, 'v1 worker.1'), 'b', now());
    core.runtime.writeLog(id(ids, 'v1 web.2'), 'c', now());
    core.runtime.writeLog(id(ids, 'v1 web.1'), 'd', now());
    core.runtime.writeLog(id(ids, 'v1 worker.1'), 'e', now(), 'stderr');
    assert.deepEqual(shown(await logs.tail(app, { lines: 100 })), ['web.1 | a', 'worker.1 | b', 'web.2 | c', 'web.1 | d', 'worker.1 | e']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 2 })), ['web.1 | d', 'worker.1 | e']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 100, ps: 'worker' })), ['worker.1 | b', 'worker.1 | e']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 100, ps: 'web' })), ['web.1 | a', 'web.2 | c', 'web.1 | d']);
    assert.deepEqual(shown(await logs.tail(app, { lines: 100, ps: 'web.2' })), ['web.2 | c']);
    const all = await logs.tail(app, { lines: 100 });
    assert.deepEqual(shown(await logs.tail(app, { lines: 100, since: all[3]?.time })), ['web.1 | d', 'worker.1 | e']);
    assert.equal(all[4]?.stream, 'stderr');
    // Pilot's times carry all nine digits, so they compare as strings.
    for (const line of all) assert.match(line.time, /\.\d{9}Z$/);
  });

  it('tail of an app with nothing live is empty, and a process type with no process gives no line', async () => {
    const core = buildCore();
    const app = core.apps.create('idle');
    const logs = new LogService({ releases: core.releases, runtime: core.runtime });
    assert.deepEqual(await logs.tail(app, { lines: 10 }), []);
    const { app: shop, logs: shopLogs } = await webAndWorker();
    assert.deepEqual(await shopLogs.tail(shop, { lines: 10, ps: 'clock' }), []);
  });

  it('follow sends lines of every process in time order even when they arrive out of it', async () => {
    const { app, core, logs, ids } = await webAndWorker();
    const now = clock();
    core.runtime.writeLog(id(ids, 'v1 web.1'), 'old', now());
    const received: LogLine[] = [];
    const follower = logs.follow(app, { lines: 1 }, (line) => received.push(line));
    try {
      await waitFor('the tail line', async () => (received.length === 1 ? true : undefined), 5000, 5);
      const [early, middle, late] = [now(), now(), now()];
      // The worker's earlier line reaches Pilot after web.2's later one.
      core.runtime.writeLog(id(ids, 'v1 web.2'), 'late', late);
      core.runtime.writeLog(id(ids, 'v1 web.1'), 'middle', middle);
      core.runtime.writeLog(id(ids, 'v1 worker.1'), 'early', early);
      await waitFor('the three lines', async () => (received.length === 4 ? true : undefined), 5000, 5);
      assert.deepEqual(shown(received), ['web.1 | old', 'worker.1 | early', 'web.1 | middle', 'web.2 | late']);
    } finally {
      follower.stop();
      await follower.done;
    }
  });

  it('a follower that reconnects with the latest time it saw gets every later line of every process once', async () => {
    const { app, core, logs, ids } = await webAndWorker();
    const now = clock();
    const first: LogLine[] = [];
    const one = logs.follow(app, { lines: 0 }, (line) => first.push(line));
    // Each process has its follower before any line is written.
    await waitFor('three log streams', async () => ([...core.runtime.logStreamsOpened.values()].length === 3 ? true : undefined), 5000, 5);
    for (const text of ['1', '2', '3']) for (const label of ['web.1', 'web.2', 'worker.1']) core.runtime.writeLog(id(ids, `v1 ${label}`), `${label} ${text}`, now());
    await waitFor('nine lines', async () => (first.length === 9 ? true : undefined), 5000, 5);
    one.stop(); // the connection drops
    await one.done;
    for (const text of ['4', '5']) for (const label of ['worker.1', 'web.2', 'web.1']) core.runtime.writeLog(id(ids, `v1 ${label}`), `${label} ${text}`, now());
    const after = first.map((line) => line.time).reduce((latest, time) => (time > latest ? time : latest));
    const second: LogLine[] = [];
    const two = logs.follow(app, { lines: 20, after }, (line) => second.push(line));
    try {
      core.runtime.writeLog(id(ids, 'v1 web.2'), 'web.2 6', now());
      await waitFor('seven lines after the reconnection', async () => (second.length >= 7 ? true : undefined), 5000, 5);
      const everything = [...first, ...second].map((line) => line.text);
      const expected = ['1', '2', '3'].flatMap((text) => ['web.1', 'web.2', 'worker.1'].map((label) => `${label} ${text}`))
        .concat(['4', '5'].flatMap((text) => ['worker.1', 'web.2', 'web.1'].map((label) => `${label} ${text}`)), ['web.2 6']);
      assert.deepEqual(everything, expected, 'no line lost, none repeated, in time order');
    } finally {
      two.stop();
      await two.done;
    }
  });

  it('follows the processes as they change: a worker scaled up joins, a restarted one is read again, a web restart moves to the new processes', async () => {
    const { app, core, logs, ids } = await webAndWorker();
    const now = clock();
    const received: LogLine[] = [];
    const follower = logs.follow(app, { lines: 0, ps: 'worker' }, (line) => received.push(line));
    try {
      await waitFor('the worker followed', async () => (core.runtime.logStreamsOpened.get(id(ids, 'v1 worker.1')) === 1 ? true : undefined), 5000, 5);
      await core.processes.scale(app, { worker: 2 });
      const scaled = await idsByLabel(core);
      core.runtime.writeLog(id(scaled, 'v1 worker.2'), 'worker two says hi', now());
      await waitFor('the new worker', async () => (received.some((line) => line.process === 'worker.2') ? true : undefined), 5000, 5);

      // A worker restart is in place: the same process, its log read again after the restart.
      await core.processes.act(app, 'restart', ['worker']);
      core.runtime.writeLog(id(scaled, 'v1 worker.1'), 'back after the restart', now());
      await waitFor('the restarted worker', async () => (received.some((line) => line.text === 'back after the restart') ? true : undefined), 5000, 5);
      assert.ok((core.runtime.logStreamsOpened.get(id(scaled, 'v1 worker.1')) ?? 0) >= 2, 'the stream was opened again');
      assert.ok(received.every((line) => line.process.startsWith('worker.')), 'ps=worker shows only workers');
    } finally {
      follower.stop();
      await follower.done;
    }

    const web: LogLine[] = [];
    const webFollower = logs.follow(app, { lines: 0, ps: 'web' }, (line) => web.push(line));
    try {
      await waitFor('web followed', async () => (core.runtime.logStreamsOpened.get(id(ids, 'v1 web.1')) === 1 ? true : undefined), 5000, 5);
      // A web restart is blue/green: new processes in the other slot, the old ones retire.
      await core.processes.act(app, 'restart');
      const restarted = (await core.runtime.list({ app: 'shop', slot: core.releases.live(app.id)?.slot ?? undefined })).filter((process) => process.identity.type === 'web');
      assert.equal(restarted.length, 2);
      for (const process of restarted) core.runtime.writeLog(process.id, `new ${processLabel(process.identity)}`, now());
      await waitFor('the new web processes', async () => (web.filter((line) => line.text.startsWith('new ')).length === 2 ? true : undefined), 5000, 5);
      assert.deepEqual(shown(web).sort(), ['web.1 | new web.1', 'web.2 | new web.2']);
    } finally {
      webFollower.stop();
      await webFollower.done;
    }
  });

  it('times from Docker with their zeros trimmed compare by value', () => {
    assert.equal(fullTimestamp(timestampNanos('2026-12-01T10:00:00.5Z')), '2026-12-01T10:00:00.500000000Z');
    assert.ok(fullTimestamp(timestampNanos('2026-12-01T10:00:00.5Z')) > fullTimestamp(timestampNanos('2026-12-01T10:00:00.45Z')));
  });
});
