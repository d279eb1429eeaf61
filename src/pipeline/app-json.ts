import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { DeployError } from '../domain/errors.js';
import {
  DEFAULT_HEALTH_CHECKS, MAX_PROCESS_QUANTITY, NO_DEPLOY_SCRIPTS, type CronEntry, type DeployScripts, type HealthCheck,
} from '../domain/types.js';
import { cronEntriesOf, type CronRules } from './cron.js';
import { DEFAULT_HEALTH_TIMING } from './healthcheck.js';

/** What Pilot reads of app.json, validated; Dokku's reference (dokku.com/docs/appendices/file-formats/app-json) is the model. */
export interface AppJson {
  /** Startup checks of web processes (`healthchecks.web`, type `startup`). */
  readonly healthchecks: readonly HealthCheck[];
  /** `formation.<type>.quantity`, for the types that set one. */
  readonly formation: Readonly<Record<string, number>>;
  readonly scripts: DeployScripts;
  readonly cron: readonly CronEntry[];
}

export const EMPTY_APP_JSON: AppJson = { healthchecks: DEFAULT_HEALTH_CHECKS, formation: {}, scripts: NO_DEPLOY_SCRIPTS, cron: [] };

/**
 * The longest a web process's startup checks may take, one after the other, at their slowest:
 * the push waits for them while holding the app's lock, so no other deploy can run meanwhile.
 */
export const MAX_STARTUP_CHECKS_SECONDS = 15 * 60;

/** Dokku's check kinds Pilot does not run; refused rather than skipped, so no one believes them run. */
const UNSUPPORTED_CHECK_FIELDS = ['command', 'uptime', 'listening'] as const;

/**
 * Parses app.json once: comments and trailing commas are accepted, as Dokku's users write them;
 * fields Pilot does not use are ignored; a field of the wrong shape fails naming it.
 */
export function parseAppJson(text: string | undefined, cronRules: CronRules = {}): AppJson {
  if (text === undefined || text.trim() === '') return EMPTY_APP_JSON;
  const root = objectAt(parseJsonc(text), 'app.json', 'an object');
  return {
    healthchecks: healthchecksOf(root.healthchecks),
    formation: formationOf(root.formation),
    scripts: scriptsOf(root.scripts),
    cron: cronEntriesOf(root, cronRules),
  };
}

function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const { line, column } = position(text, first.offset);
    // `CloseBraceExpected` → `close brace expected`
    const problem = printParseErrorCode(first.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    throw invalid(`app.json is not valid JSON: ${problem} at line ${line}, column ${column}`);
  }
  return value;
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

function healthchecksOf(value: unknown): readonly HealthCheck[] {
  if (value === undefined) return DEFAULT_HEALTH_CHECKS;
  const byType = objectAt(value, 'app.json healthchecks', 'an object of process types, e.g. {"web": [{"path": "/health"}]}');
  if (byType.web === undefined) return DEFAULT_HEALTH_CHECKS;
  if (!Array.isArray(byType.web)) throw invalid(`app.json healthchecks.web must be a list of checks, got ${shown(byType.web)}`);
  const checks = byType.web.flatMap((entry: unknown, index) => {
    const check = healthCheckOf(entry, `app.json healthchecks.web[${index}]`);
    return check ? [check] : [];
  });
  if (checks.length === 0) return DEFAULT_HEALTH_CHECKS;
  const slowest = checks.reduce((total, check) => total + slowestRunSeconds(check), 0);
  if (slowest > MAX_STARTUP_CHECKS_SECONDS) {
    throw invalid(
      `app.json healthchecks.web could take ${Math.ceil(slowest)} s (initialDelay + attempts × timeout + the waits between attempts, ` +
        `over all startup checks); the limit is ${MAX_STARTUP_CHECKS_SECONDS} s: lower attempts, wait, timeout or initialDelay`,
    );
  }
  return checks;
}

/**
 * How long a check runs when every attempt fails at its timeout. Without `attempts` the retries
 * stop at PILOT_HEALTH_TIMEOUT, the operator's bound, so only the delay and one request count.
 */
function slowestRunSeconds(check: HealthCheck): number {
  const attempts = check.attempts ?? 1;
  const timeout = check.timeout ?? DEFAULT_HEALTH_TIMING.requestTimeoutMs / 1000;
  const wait = check.wait ?? DEFAULT_HEALTH_TIMING.maxIntervalMs / 1000;
  return (check.initialDelay ?? 0) + attempts * timeout + (attempts - 1) * wait;
}

/** A startup check, or undefined for a liveness/readiness one (the deploy runs startup checks only). */
function healthCheckOf(value: unknown, field: string): HealthCheck | undefined {
  const entry = objectAt(value, field, 'an object such as {"path": "/health", "attempts": 3}');
  const type = optionalString(entry.type, `${field}.type`) ?? 'startup';
  if (!['startup', 'liveness', 'readiness'].includes(type)) throw invalid(`${field}.type must be "startup", "liveness" or "readiness", got ${shown(type)}`);
  if (type !== 'startup') return undefined;
  for (const name of UNSUPPORTED_CHECK_FIELDS) {
    if (entry[name] !== undefined) throw invalid(`${field}.${name}: Pilot runs HTTP checks only; give the check a "path" instead`);
  }
  const path = optionalString(entry.path, `${field}.path`) ?? '/';
  if (!path.startsWith('/') || /[\s#]/.test(path)) throw invalid(`${field}.path must start with / and hold no spaces, got ${shown(path)}`);
  const content = optionalString(entry.content, `${field}.content`);
  return {
    path,
    ...defined('port', wholeNumber(entry.port, `${field}.port`, 1, 65535)),
    ...defined('attempts', wholeNumber(entry.attempts, `${field}.attempts`, 1, 1000)),
    ...defined('wait', seconds(entry.wait, `${field}.wait`, 0)),
    ...defined('timeout', seconds(entry.timeout, `${field}.timeout`, Number.MIN_VALUE)),
    ...defined('initialDelay', seconds(entry.initialDelay, `${field}.initialDelay`, 0)),
    ...(content !== undefined && content !== '' ? { content } : {}),
  };
}

function formationOf(value: unknown): Readonly<Record<string, number>> {
  if (value === undefined) return {};
  const byType = objectAt(value, 'app.json formation', 'an object of process types, e.g. {"worker": {"quantity": 1}}');
  const quantities: Record<string, number> = {};
  for (const [type, settings] of Object.entries(byType)) {
    const field = `app.json formation.${type}`;
    const quantity = wholeNumber(objectAt(settings, field, 'an object such as {"quantity": 1}').quantity, `${field}.quantity`, 0, MAX_PROCESS_QUANTITY);
    if (quantity !== undefined) quantities[type] = quantity;
  }
  return quantities;
}

/**
 * Dokku reads `scripts.dokku.predeploy`, `scripts.dokku.postdeploy` and Heroku's
 * `scripts.postdeploy` (run once, after the first deploy); it reads no plain
 * `scripts.predeploy`, so neither does Pilot. Other scripts (Heroku's `test`...) are ignored.
 */
function scriptsOf(value: unknown): DeployScripts {
  if (value === undefined) return NO_DEPLOY_SCRIPTS;
  const scripts = objectAt(value, 'app.json scripts', 'an object such as {"dokku": {"predeploy": "npm run migrate"}}');
  const dokku = scripts.dokku === undefined ? {} : objectAt(scripts.dokku, 'app.json scripts.dokku', 'an object with "predeploy" and/or "postdeploy"');
  return {
    predeploy: command(dokku.predeploy, 'app.json scripts.dokku.predeploy'),
    postdeploy: command(dokku.postdeploy, 'app.json scripts.dokku.postdeploy'),
    firstDeploy: command(scripts.postdeploy, 'app.json scripts.postdeploy'),
  };
}

function objectAt(value: unknown, field: string, expected: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${field} must be ${expected}, got ${shown(value)}`);
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string, got ${shown(value)}`);
  return value;
}

/** A command: a non-empty string, or null when absent. */
function command(value: unknown, field: string): string | null {
  const text = optionalString(value, field)?.trim();
  if (text === '') throw invalid(`${field} must not be empty`);
  return text ?? null;
}

function wholeNumber(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

/** Seconds: Dokku's unit; fractions are allowed. */
function seconds(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 3600) {
    throw invalid(`${field} must be a number of seconds ${min === 0 ? 'from 0' : 'above 0'} to 3600, got ${shown(value)}`);
  }
  return value;
}

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function invalid(message: string): DeployError {
  return new DeployError('PILOT_APP_JSON_INVALID', message);
}
