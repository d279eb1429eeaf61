import { ValidationError } from '../domain/errors.js';

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_CONFIG_VALUE_BYTES = 32 * 1024;
/** In `u` mode a surrogate pair is one code point: only unpaired halves match. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Set by Pilot itself in every container. */
const RESERVED_CONFIG_KEYS = new Set(['PORT']);

/**
 * Config var names are shell variable names; values are any text up to 32 KiB that an
 * environment can carry: no NUL byte (it ends a C string: Docker refuses the container) and
 * no broken UTF-16 (it cannot be written as UTF-8). Refusals name the key, never the value.
 */
export function validateConfigVars(vars: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(vars)) {
    if (!CONFIG_KEY.test(key)) {
      throw new ValidationError(`invalid config var name ${JSON.stringify(key.slice(0, 64))}: use letters, digits and _, not starting with a digit (e.g. DATABASE_URL)`);
    }
    if (RESERVED_CONFIG_KEYS.has(key)) throw new ValidationError(`${key} is set by Pilot (the port your app listens on) and cannot be changed`);
    if (typeof value !== 'string') throw new ValidationError(`the value of ${key} must be a string`);
    if (value.includes('\0')) {
      throw new ValidationError(`the value of ${key} contains a NUL byte (\\u0000), which no environment variable can hold: remove it (for binary data, set it base64-encoded)`);
    }
    if (LONE_SURROGATE.test(value)) throw new ValidationError(`the value of ${key} is not valid text (a lone UTF-16 surrogate): send it as UTF-8`);
    if (Buffer.byteLength(value) > MAX_CONFIG_VALUE_BYTES) throw new ValidationError(`the value of ${key} is larger than 32 KiB`);
  }
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A custom domain: a lowercase host name of two labels or more, not an IP address. */
export function validateHostname(input: string): string {
  const hostname = input.trim().toLowerCase().replace(/\.$/, '');
  const shown = JSON.stringify(input.slice(0, 100));
  const labels = hostname.split('.');
  if (hostname.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    throw new ValidationError(`invalid domain ${shown}: use a host name such as www.example.com (letters, digits, dashes and dots)`);
  }
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) throw new ValidationError(`invalid domain ${shown}: an IP address is not a domain`);
  return hostname;
}

const BUILD_DIR_SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$/;

/**
 * An app's directory in its repository (`apps/web`): relative, inside the tree, plain names
 * between slashes. Empty (or `.`) is the root: null. A trailing slash and a leading `./` are dropped.
 */
export function validateBuildDir(input: string): string | null {
  const shown = JSON.stringify(input.slice(0, 100));
  // Before the emptiness check: "/" would otherwise strip to "" and quietly mean the root.
  if (input.trim().startsWith('/')) throw new ValidationError(`build-dir ${shown} must be relative to the repository root (e.g. apps/web), not start with /`);
  const dir = input.trim().replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (dir === '' || dir === '.') return null;
  const segments = dir.split('/');
  if (segments.includes('..')) throw new ValidationError(`build-dir ${shown} must stay inside the repository: no ".."`);
  if (dir.length > 255 || !segments.every((segment) => BUILD_DIR_SEGMENT.test(segment))) {
    throw new ValidationError(`build-dir ${shown} must be a directory path such as apps/web: names of letters, digits, _ - @ + (and dots, but not first) between single slashes`);
  }
  return dir;
}
