import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { CronEntry } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';

/** Schedules run in UTC, as Dokku's do on a server in UTC: the same entry means the same times everywhere. */
const TIMEZONE = 'Etc/UTC';
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const ENTRY_FIELDS = new Set(['command', 'schedule', 'maintenance', 'concurrency_policy']);
const SCHEDULE_HELP =
  'write five fields (minute hour day-of-month month day-of-week) in UTC, e.g. "*/5 * * * *", or one of ' + MACROS.join(', ');

export interface CronRules {
  /** Accept a sixth, leading seconds field (PILOT_CRON_ALLOW_SECONDS, for tests only). */
  readonly allowSeconds?: boolean;
}

/**
 * app.json `cron` entries in Dokku's format (`command`, `schedule`, optional `maintenance`),
 * validated so that a bad entry fails the push before anything runs. Dokku's
 * `concurrency_policy` is accepted only as `forbid`: Pilot never runs an entry twice at once.
 */
export function cronEntriesOf(appJson: unknown, rules: CronRules = {}): CronEntry[] {
  if (typeof appJson !== 'object' || appJson === null) return [];
  const cron = (appJson as { cron?: unknown }).cron;
  if (cron === undefined) return [];
  if (!Array.isArray(cron)) {
    throw invalid(`app.json cron must be a list of {"command": ..., "schedule": ...} entries, got ${describe(cron)}`);
  }
  const entries = cron.map((entry: unknown, index) => cronEntryOf(entry, `app.json cron[${index}]`, rules));
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const first = seen.get(entry.id);
    if (first !== undefined) throw invalid(`app.json cron[${index}] repeats cron[${first}] (same schedule and command): it would run twice; remove one`);
    seen.set(entry.id, index);
  });
  return entries;
}

function cronEntryOf(entry: unknown, where: string, rules: CronRules): CronEntry {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw invalid(`${where} must be an object like {"command": "node scripts/report.js", "schedule": "@daily"}, got ${describe(entry)}`);
  }
  const fields = entry as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !ENTRY_FIELDS.has(key));
  if (unknown !== undefined) throw invalid(`${where} has an unknown field "${unknown}": an entry has ${[...ENTRY_FIELDS].join(', ')}`);
  const { command, schedule, maintenance, concurrency_policy: policy } = fields;
  if (typeof command !== 'string' || command.trim() === '') throw invalid(`${where}.command must be the command to run, e.g. "node scripts/report.js", got ${describe(command)}`);
  if (typeof schedule !== 'string') throw invalid(`${where}.schedule must be a cron schedule: ${SCHEDULE_HELP}; got ${describe(schedule)}`);
  if (maintenance !== undefined && typeof maintenance !== 'boolean') throw invalid(`${where}.maintenance must be true or false, got ${describe(maintenance)}`);
  if (policy !== undefined && policy !== 'forbid') {
    throw invalid(`${where}.concurrency_policy ${describe(policy)} is not supported: Pilot never starts an entry while its previous run is going ("forbid"); remove the field`);
  }
  const normalized = validSchedule(schedule.trim().replace(/\s+/g, ' '), `${where}.schedule`, rules);
  return { id: cronEntryId(normalized, command.trim()), schedule: normalized, command: command.trim(), maintenance: maintenance ?? false };
}

function validSchedule(schedule: string, where: string, rules: CronRules): string {
  if (schedule.startsWith('@') && !MACROS.includes(schedule.toLowerCase())) {
    throw invalid(`${where} "${schedule}" is not a schedule Pilot runs: ${SCHEDULE_HELP}`);
  }
  const fields = schedule.startsWith('@') ? 5 : schedule.split(' ').length;
  if (fields === 6 && !rules.allowSeconds) {
    throw invalid(`${where} "${schedule}" has six fields: seconds are not supported (a minute is the shortest interval); ${SCHEDULE_HELP}`);
  }
  if (fields !== 5 && fields !== 6) throw invalid(`${where} "${schedule}" has ${fields} field(s): ${SCHEDULE_HELP}`);
  let next: Date | undefined;
  try {
    next = nextRunAfter(schedule, new Date());
  } catch (error) {
    throw invalid(`${where} "${schedule}" is not a cron schedule (${(error as Error).message.replace(/^CronPattern: /, '')}): ${SCHEDULE_HELP}`);
  }
  if (next === undefined) throw invalid(`${where} "${schedule}" never comes (no such date): ${SCHEDULE_HELP}`);
  return schedule;
}

/** The first time after `after` that the schedule names; undefined if it never comes again. Throws on a bad schedule. */
export function nextRunAfter(schedule: string, after: Date): Date | undefined {
  const job = new Cron(schedule, { paused: true, timezone: TIMEZONE, mode: '5-or-6-parts' });
  try {
    return job.nextRun(after) ?? undefined;
  } finally {
    job.stop();
  }
}

/** Short, stable id of an entry: the same schedule and command keep their run history across deploys. */
export function cronEntryId(schedule: string, command: string): string {
  return createHash('sha256').update(`${schedule}\n${command}`).digest('hex').slice(0, 8);
}

function invalid(message: string): DeployError {
  return new DeployError('PILOT_APP_JSON_INVALID', message);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
