import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cronEntriesOf, cronEntryId, nextRunAfter } from '../../../src/pipeline/cron.js';
import { DeployError } from '../../../src/domain/errors.js';

function refusal(appJson: unknown, rules = {}): DeployError {
  try {
    cronEntriesOf(appJson, rules);
  } catch (error) {
    assert.ok(error instanceof DeployError);
    assert.equal(error.code, 'PILOT_APP_JSON_INVALID');
    return error;
  }
  assert.fail('the entries were accepted');
}

describe('cronEntriesOf', () => {
  it('reads Dokku entries: schedule and command trimmed, maintenance false by default, an id from both', () => {
    const entries = cronEntriesOf({
      cron: [
        { command: ' node scripts/report.js ', schedule: '*/5  * * * *' },
        { command: 'npm run send-email', schedule: '@daily', maintenance: true },
      ],
    });
    assert.deepEqual(entries, [
      { id: cronEntryId('*/5 * * * *', 'node scripts/report.js'), schedule: '*/5 * * * *', command: 'node scripts/report.js', maintenance: false },
      { id: cronEntryId('@daily', 'npm run send-email'), schedule: '@daily', command: 'npm run send-email', maintenance: true },
    ]);
    assert.match(entries[0]!.id, /^[0-9a-f]{8}$/);
    assert.notEqual(entries[0]!.id, entries[1]!.id);
  });

  it('has no entries without app.json or without a cron key', () => {
    assert.deepEqual(cronEntriesOf(undefined), []);
    assert.deepEqual(cronEntriesOf({ healthchecks: {} }), []);
    assert.deepEqual(cronEntriesOf({ cron: [] }), []);
  });

  it('keeps an entry id while its schedule and command stay, and changes it when either changes', () => {
    const id = cronEntryId('0 1 * * *', 'echo hello');
    assert.equal(cronEntriesOf({ cron: [{ schedule: '0 1 * * *', command: 'echo hello' }] })[0]!.id, id);
    assert.notEqual(cronEntryId('0 2 * * *', 'echo hello'), id);
    assert.notEqual(cronEntryId('0 1 * * *', 'echo bye'), id);
  });

  it('accepts the macros and named days and months', () => {
    for (const schedule of ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually', '0 9 * * MON-FRI', '0 0 1 JAN *', '0 0 L * *']) {
      assert.equal(cronEntriesOf({ cron: [{ command: 'true', schedule }] }).length, 1, schedule);
    }
  });

  it('refuses a seconds field, a minute being the shortest interval, unless the test-only rule allows it', () => {
    assert.match(refusal({ cron: [{ command: 'true', schedule: '*/10 * * * * *' }] }).message, /app\.json cron\[0\]\.schedule "\*\/10 \* \* \* \* \*" has six fields: seconds are not supported/);
    assert.equal(cronEntriesOf({ cron: [{ command: 'true', schedule: '*/10 * * * * *' }] }, { allowSeconds: true })[0]!.schedule, '*/10 * * * * *');
  });

  it('refuses schedules that are not cron, saying where and what to write', () => {
    const cases: [string, RegExp][] = [
      ['every minute', /cron\[0\]\.schedule "every minute" has 2 field\(s\): write five fields \(minute hour day-of-month month day-of-week\) in UTC, e\.g\. "\*\/5 \* \* \* \*"/],
      ['61 * * * *', /"61 \* \* \* \*" is not a cron schedule \(Invalid value for minute: 61\)/],
      ['* * * *', /has 4 field\(s\)/],
      ['0 0 0 * * * 2030', /has 7 field\(s\)/],
      ['@reboot', /"@reboot" is not a schedule Pilot runs: .*@hourly/],
      ['0 0 31 2 *', /"0 0 31 2 \*" never comes/],
    ];
    for (const [schedule, message] of cases) assert.match(refusal({ cron: [{ command: 'true', schedule }] }).message, message, schedule);
  });

  it('refuses malformed entries with the field path and what it must be', () => {
    const cases: [unknown, RegExp][] = [
      [{ cron: { command: 'true', schedule: '@daily' } }, /^app\.json cron must be a list of \{"command": \.\.\., "schedule": \.\.\.\} entries, got an object$/],
      // null is refused as in every other app.json field: leave the key out (or use []) for no entries.
      [{ cron: null }, /^app\.json cron must be a list of \{"command": \.\.\., "schedule": \.\.\.\} entries, got null$/],
      [{ cron: ['echo'] }, /^app\.json cron\[0\] must be an object like .*, got "echo"$/],
      [{ cron: [{ schedule: '@daily' }] }, /^app\.json cron\[0\]\.command must be the command to run, .*, got undefined/],
      [{ cron: [{ command: '  ', schedule: '@daily' }] }, /cron\[0\]\.command must be the command to run/],
      [{ cron: [{ command: 'true', schedule: 5 }] }, /cron\[0\]\.schedule must be a cron schedule: .*; got number 5$/],
      [{ cron: [{ command: 'true', schedule: '@daily', maintenance: 'yes' }] }, /cron\[0\]\.maintenance must be true or false, got "yes"/],
      [{ cron: [{ command: 'true', schedule: '@daily', concurrency_policy: 'allow' }] }, /cron\[0\]\.concurrency_policy "allow" is not supported: Pilot never starts an entry while its previous run is going/],
      [{ cron: [{ command: 'true', schedule: '@daily', scheduel: '@hourly' }] }, /cron\[0\] has an unknown field "scheduel": an entry has command, schedule, maintenance, concurrency_policy/],
      [{ cron: [{ command: 'true', schedule: '@daily' }, { command: 'true', schedule: '@daily' }] }, /cron\[1\] repeats cron\[0\] \(same schedule and command\)/],
    ];
    for (const [appJson, message] of cases) assert.match(refusal(appJson).message, message);
    assert.equal(cronEntriesOf({ cron: [{ command: 'true', schedule: '@daily', concurrency_policy: 'forbid' }] }).length, 1);
  });
});

describe('nextRunAfter', () => {
  it('computes the next time in UTC, strictly after the given one', () => {
    const at = new Date('2026-03-10T10:02:30Z');
    assert.equal(nextRunAfter('*/5 * * * *', at)?.toISOString(), '2026-03-10T10:05:00.000Z');
    assert.equal(nextRunAfter('*/5 * * * *', new Date('2026-03-10T10:05:00Z'))?.toISOString(), '2026-03-10T10:10:00.000Z');
    assert.equal(nextRunAfter('@daily', at)?.toISOString(), '2026-03-11T00:00:00.000Z');
    assert.equal(nextRunAfter('0 9 * * MON', at)?.toISOString(), '2026-03-16T09:00:00.000Z');
  });
});
