import { ValidationError } from '../domain/errors.js';
import type { ConfigChangeBody } from '../domain/shapes.js';
import { validateConfigVars } from './validation.js';

/**
 * A change of config vars: the body of `PATCH /apps/:app/config` with every field given,
 * `{"set": {"KEY": "value"}, "unset": ["KEY"], "build": {"KEY": true}}`. `build` makes a var a
 * build var (true: builds see it too) or runtime only again (false); a var set without it
 * keeps what it was (a new var: runtime only).
 */
export type ConfigChange = Readonly<Required<ConfigChangeBody>>;

/** An app's config vars and which of them are build vars. */
export interface ConfigState {
  readonly vars: Readonly<Record<string, string>>;
  readonly buildKeys: readonly string[];
}

export interface PlannedConfig extends ConfigState {
  /** Whether the runtime environment changes: a running app then gets a new release. */
  readonly runtimeChanged: boolean;
  /** Build vars this change touches (value, flag or removal): builds see them from the next push. */
  readonly nextBuild: readonly string[];
}

const FIELDS = new Set(['set', 'unset', 'build']);

/** The request body as a ConfigChange, refusing every wrong JSON type (no coercion: null is not ""). */
export function parseConfigChange(body: unknown): ConfigChange {
  if (!isObject(body)) throw new ValidationError(`the body must be a JSON object such as {"set": {"KEY": "value"}}, got ${describe(body)}`);
  for (const field of Object.keys(body)) {
    if (!FIELDS.has(field)) throw new ValidationError(`unknown field ${JSON.stringify(field.slice(0, 64))}: the body takes "set", "unset" and "build"`);
  }
  const { set = {}, unset = [], build = {} } = body;
  if (!isObject(set)) throw new ValidationError(`"set" must be an object of "KEY": "value" strings, got ${describe(set)}`);
  for (const [key, value] of Object.entries(set)) {
    if (typeof value !== 'string') throw new ValidationError(`"set.${key.slice(0, 64)}" must be a string, got ${describe(value)} (to remove a var, put its name in "unset")`);
  }
  if (!Array.isArray(unset) || !unset.every((key) => typeof key === 'string')) {
    throw new ValidationError(`"unset" must be an array of config var names, got ${describe(unset)}`);
  }
  if (!isObject(build)) throw new ValidationError(`"build" must be an object of "KEY": true or false, got ${describe(build)}`);
  for (const [key, value] of Object.entries(build)) {
    if (typeof value !== 'boolean') {
      throw new ValidationError(`"build.${key.slice(0, 64)}" must be true (build and runtime) or false (runtime only), got ${describe(value)}`);
    }
  }
  return { set: set as Record<string, string>, unset: unset as string[], build: build as Record<string, boolean> };
}

/** The config after a change; refuses names that are invalid, and build flags of vars that will not exist. */
export function planConfigChange(current: ConfigState, change: ConfigChange): PlannedConfig {
  validateConfigVars(change.set);
  const vars: Record<string, string> = { ...current.vars, ...change.set };
  for (const key of change.unset) delete vars[key];
  const before = new Set(current.buildKeys.filter((key) => key in current.vars));
  const after = new Set([...before].filter((key) => key in vars));
  for (const [key, build] of Object.entries(change.build)) {
    if (!(key in vars)) {
      const why = change.unset.includes(key) ? 'this request also unsets it' : `it is not set (set it with "set": {"${key.slice(0, 64)}": "..."})`;
      throw new ValidationError(`cannot make ${JSON.stringify(key.slice(0, 64))} ${build ? 'a build var' : 'runtime only'}: ${why}`);
    }
    if (build) after.add(key);
    else after.delete(key);
  }
  const touched = [...Object.keys(change.set), ...change.unset, ...Object.keys(change.build)];
  const nextBuild = new Set(touched.filter((key) => before.has(key) !== after.has(key) || (after.has(key) && key in change.set)));
  return {
    vars,
    buildKeys: [...after].sort(),
    runtimeChanged: Object.keys(change.set).length > 0 || change.unset.length > 0,
    nextBuild: [...nextBuild].sort(),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON value's type for an error message: `null`, `the number 5`, `an array`... */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `the ${typeof value} ${String(value)}`;
}
