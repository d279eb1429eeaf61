import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createCronRunStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import { CronScheduler, type CronClock, type CronProcess, type CronRunner } from '../../../src/services/cron.js';
import { cronEntriesOf } from '../../../src/pipeline/cron.js';
import { CRON_OUTPUT_KEPT_CHARS, type App, type Release } from '../../../src/domain/types.js';
import { goLive as takeLive } from '../../helpers/releases.js';

/** Time that moves only when the test says, firing the timers that fall due on the way, in order. */
class FakeClock implements CronClock {
  private timers: { at: number; wake: () => void; cancelled: boolean }[] = [];
  constructor(private time: number) {}

  now(): Date {
    return new Date(this.time);
  }

  setTimer(ms: number, wake: () => void): () => void {
    const timer = { at: this.time + ms, wake, cancelled: false };
    this.timers.push(timer);
    return () => void (timer.cancelled = true);
  }

  async advanceTo(iso: string): Promise<void> {
    const target = Date.parse(iso);
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.time = due.at;
      due.wake();
      await settled();
    }
    this.time = target;
    await settled();
  }

  pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }
}

const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Started {
  readonly app: string;
  readonly version: number;
  readonly command: string;
  readonly at: string;
  finish(exitCode: number): void;
  write(text: string): void;
  killed: boolean;
}

/** Starts nothing: records what would run, and lets the test end each run. */
class FakeRunner implements CronRunner {
  readonly started: Started[] = [];
  failWith: Error | undefined;
  /** Set: every run started from now on ends by itself with this code. */
  autoExit: number | undefined;
  constructor(private readonly clock: FakeClock) {}

  async start(app: App, release: Release, command: string, onOutput: (text: string) => void): Promise<CronProcess> {
    if (this.failWith) throw this.failWith;
    let finish: (code: number) => void = () => undefined;
    const exitCode = new Promise<number>((resolve) => (finish = resolve));
    const run: Started = { app: app.name, version: release.version, command, at: this.clock.now().toISOString(), finish, write: onOutput, killed: false };
    this.started.push(run);
    if (this.autoExit !== undefined) setImmediate(finish, this.autoExit);
    return {
      exitCode,
      kill: async () => {
        run.killed = true;
        finish(137);
      },
    };
  }
}

function setup(start = '2026-03-10T10:00:30Z') {
  const db = openDatabase(':memory:');
  const apps = createAppStore(db);
  const releases = createReleaseStore(db);
  const runs = createCronRunStore(db);
  const clock = new FakeClock(Date.parse(start));
  const runner = new FakeRunner(clock);
  const scheduler = new CronScheduler({ apps, releases, runs, runner, clock, logger: pino({ level: 'silent' }) });
  const app = apps.create('shop');
  /** A release of `shop` with these app.json cron entries goes live (as a deploy's switch does). */
  const goLive = (cron: unknown[]): Release => {
    const release = releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: { GREETING: 'hi' } });
    releases.update(release.id, { image: `pilot/shop:v${release.version}`, port: 5000, cron: cronEntriesOf({ cron }) });
    takeLive(releases, release.id);
    return releases.get(release.id) as Release;
  };
  return { db, apps, releases, runs, clock, runner, scheduler, app, goLive };
}

describe('CronScheduler', () => {
  it("runs each entry at its schedule's times in the live release, keeping output and exit code", async () => {
    const { clock, runner, scheduler, app, goLive, runs } = setup();
    const live = goLive([{ command: 'node report.js', schedule: '*/5 * * * *' }, { command: 'node hourly.js', schedule: '@hourly' }]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:04:59Z');
    assert.equal(runner.started.length, 0);

    await clock.advanceTo('2026-03-10T10:05:00Z');
    assert.deepEqual(runner.started.map((run) => [run.command, run.version, run.at]), [['node report.js', live.version, '2026-03-10T10:05:00.000Z']]);
    const [first] = runner.started;
    first!.write('report sent\n');
    first!.finish(0);
    await settled();

    runner.autoExit = 0;
    await clock.advanceTo('2026-03-10T10:59:00Z');
    runner.autoExit = undefined;
    await clock.advanceTo('2026-03-10T11:00:00Z');
    const reportTimes = ['10:10', '10:15', '10:20', '10:25', '10:30', '10:35', '10:40', '10:45', '10:50', '10:55', '11:00'];
    assert.deepEqual(
      runner.started.slice(1).map((run) => `${run.at} ${run.command}`).sort(),
      [...reportTimes.map((time) => `2026-03-10T${time}:00.000Z node report.js`), '2026-03-10T11:00:00.000Z node hourly.js'].sort(),
    );
    const hourly = runner.started.find((run) => run.command === 'node hourly.js')!;
    hourly.write('boom\n');
    hourly.finish(3);
    await settled();

    const [reportRun] = runs.list(app.id, { entryId: live.cron[0]!.id, limit: 100 }).slice(-1);
    assert.deepEqual([reportRun!.status, reportRun!.exitCode, reportRun!.output, reportRun!.scheduledAt], ['succeeded', 0, 'report sent\n', '2026-03-10T10:05:00.000Z']);
    const [hourlyRun] = runs.list(app.id, { entryId: live.cron[1]!.id, limit: 100 });
    assert.deepEqual([hourlyRun!.status, hourlyRun!.exitCode, hourlyRun!.output, hourlyRun!.releaseVersion], ['failed', 3, 'boom\n', live.version]);
  });

  it('does not start an entry again while its previous run is going: that time is recorded as skipped', async () => {
    const { clock, runner, scheduler, app, goLive, runs } = setup();
    const live = goLive([{ command: 'node slow.js', schedule: '* * * * *' }]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:03:00Z');
    assert.equal(runner.started.length, 1);
    const history = runs.list(app.id, { limit: 10 });
    assert.deepEqual(history.map((run) => [run.status, run.scheduledAt]), [
      ['skipped', '2026-03-10T10:03:00.000Z'],
      ['skipped', '2026-03-10T10:02:00.000Z'],
      ['running', '2026-03-10T10:01:00.000Z'],
    ]);
    assert.match(history[0]!.output, /not started: the run scheduled at 2026-03-10T10:01:00.000Z was still going/);

    runner.started[0]!.finish(0);
    await settled();
    await clock.advanceTo('2026-03-10T10:04:00Z');
    assert.deepEqual(runner.started.map((run) => run.at), ['2026-03-10T10:01:00.000Z', '2026-03-10T10:04:00.000Z']);
    assert.equal(scheduler.entries(app)[0]!.lastRun?.status, 'running');
    assert.equal(scheduler.entries(app)[0]!.entry.id, live.cron[0]!.id);
  });

  it('follows a new live release: removed entries stop, new ones start, runs use the new release', async () => {
    const { clock, runner, scheduler, app, goLive } = setup();
    goLive([{ command: 'node old.js', schedule: '* * * * *' }]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:01:00Z');
    runner.started[0]!.finish(0);
    runner.autoExit = 0;

    const next = goLive([{ command: 'node new.js', schedule: '*/2 * * * *' }]);
    scheduler.refresh(app);
    await clock.advanceTo('2026-03-10T10:05:00Z');
    assert.deepEqual(runner.started.slice(1).map((run) => [run.command, run.version, run.at]), [
      ['node new.js', next.version, '2026-03-10T10:02:00.000Z'],
      ['node new.js', next.version, '2026-03-10T10:04:00.000Z'],
    ]);

    goLive([]);
    scheduler.refresh(app);
    await clock.advanceTo('2026-03-10T11:00:00Z');
    assert.equal(runner.started.length, 3);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('lists entries with their next run and last run; maintenance entries are listed and never run', async () => {
    const { clock, runner, scheduler, app, goLive } = setup();
    goLive([{ command: 'node report.js', schedule: '*/5 * * * *' }, { command: 'node paused.js', schedule: '* * * * *', maintenance: true }]);
    scheduler.start();
    assert.deepEqual(scheduler.entries(app).map((status) => [status.entry.command, status.nextRunAt, status.lastRun]), [
      ['node report.js', '2026-03-10T10:05:00.000Z', undefined],
      ['node paused.js', undefined, undefined],
    ]);
    await clock.advanceTo('2026-03-10T10:05:00Z');
    runner.started[0]!.finish(0);
    await settled();
    const [report] = scheduler.entries(app);
    assert.equal(report!.nextRunAt, '2026-03-10T10:10:00.000Z');
    assert.deepEqual([report!.lastRun?.status, report!.lastRun?.exitCode], ['succeeded', 0]);
    assert.deepEqual(runner.started.map((run) => run.command), ['node report.js']);
  });

  it('records a run that could not start as failed, with why', async () => {
    const { clock, runner, scheduler, app, goLive, runs } = setup();
    goLive([{ command: 'node report.js', schedule: '* * * * *' }]);
    runner.failWith = new Error('no such image');
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:01:00Z');
    const [run] = runs.list(app.id, { limit: 1 });
    assert.deepEqual([run!.status, run!.exitCode], ['failed', null]);
    assert.match(run!.output, /not run: no such image/);
  });

  it('keeps only the last 64 KiB of what a run prints', async () => {
    const { clock, runner, scheduler, app, goLive, runs } = setup();
    goLive([{ command: 'node chatty.js', schedule: '* * * * *' }]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:01:00Z');
    const [run] = runner.started;
    for (let line = 0; line < 2000; line += 1) run!.write(`line ${line} ${'x'.repeat(60)}\n`);
    run!.finish(0);
    await settled();
    const [recorded] = runs.list(app.id, { limit: 1 });
    assert.equal(recorded!.output.length, CRON_OUTPUT_KEPT_CHARS);
    assert.ok(recorded!.output.endsWith(`line 1999 ${'x'.repeat(60)}\n`));
  });

  it('stops: no more runs, the run going on is stopped and recorded as interrupted', async () => {
    const { clock, runner, scheduler, app, goLive, runs } = setup();
    goLive([{ command: 'node slow.js', schedule: '* * * * *' }]);
    scheduler.start();
    await clock.advanceTo('2026-03-10T10:01:00Z');
    await scheduler.stop();
    assert.equal(runner.started[0]!.killed, true);
    assert.equal(runs.list(app.id, { limit: 1 })[0]!.status, 'interrupted');
    await clock.advanceTo('2026-03-10T11:00:00Z');
    assert.equal(runner.started.length, 1);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('forgets a destroyed app', async () => {
    const { clock, runner, scheduler, app, goLive } = setup();
    goLive([{ command: 'node report.js', schedule: '* * * * *' }]);
    scheduler.start();
    scheduler.forget(app.id);
    await clock.advanceTo('2026-03-10T11:00:00Z');
    assert.equal(runner.started.length, 0);
  });

  it('after a restart, picks the schedules up from the live releases and records runs cut short as interrupted', async () => {
    const { clock, runner, app, goLive, runs, apps, releases } = setup();
    const live = goLive([{ command: 'node report.js', schedule: '* * * * *' }]);
    runs.start({ appId: app.id, entryId: live.cron[0]!.id, command: 'node report.js', releaseVersion: live.version, scheduledAt: '2026-03-10T10:00:00.000Z' });
    const restarted = new CronScheduler({ apps, releases, runs, runner, clock, logger: pino({ level: 'silent' }) });
    restarted.start();
    const [cutShort] = runs.list(app.id, { limit: 1 });
    assert.equal(cutShort!.status, 'interrupted');
    await clock.advanceTo('2026-03-10T10:01:00Z');
    assert.deepEqual(runner.started.map((run) => [run.command, run.at]), [['node report.js', '2026-03-10T10:01:00.000Z']]);
  });

  it('waits for a schedule further away than one timer can hold (@yearly)', async () => {
    const { clock, runner, scheduler, goLive } = setup('2026-03-10T10:00:00Z');
    goLive([{ command: 'node yearly.js', schedule: '@yearly' }]);
    scheduler.start();
    await clock.advanceTo('2026-12-31T23:59:59Z');
    assert.equal(runner.started.length, 0);
    await clock.advanceTo('2027-01-01T00:00:00Z');
    assert.deepEqual(runner.started.map((run) => run.at), ['2027-01-01T00:00:00.000Z']);
  });
});
