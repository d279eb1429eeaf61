import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CliError } from './errors.js';

export interface Credentials {
  readonly url: string;
  readonly token: string;
}

/** The file `pilot login` writes: $XDG_CONFIG_HOME/pilot/credentials.json (mode 0600). */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'pilot', 'credentials.json');
}

export function saveCredentials(credentials: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/**
 * PILOT_URL / PILOT_TOKEN win over the saved login; without either, on the server itself, the
 * settings install.sh wrote (readable by root only) give the local API and the admin token.
 */
export function loadCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  let saved: Partial<Credentials> = {};
  const file = credentialsFile(env);
  if (fs.existsSync(file)) {
    try {
      saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>;
    } catch {
      throw new CliError(`${file} is not valid JSON: run \`pilot login <url>\` again`);
    }
  }
  const url = env.PILOT_URL || saved.url;
  const token = env.PILOT_TOKEN || saved.token;
  if (url && token) return { url: normalizeUrl(url), token };
  const local = !env.PILOT_URL && !env.PILOT_TOKEN && !saved.url ? serverCredentials(env) : undefined;
  if (local) return local;
  throw new CliError('not logged in: run `pilot login https://pilot.example.com` (or set PILOT_URL and PILOT_TOKEN; on the server, run pilot as root)');
}

/** The settings file install.sh writes: $PILOT_CONFIG_DIR/pilot.env (default /etc/pilot), mode 0600. */
export function serverSettingsFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.PILOT_CONFIG_DIR || '/etc/pilot', 'pilot.env');
}

/**
 * On the Pilot server, as a user who can read its settings (root): the API on loopback and the
 * admin token (PILOT_ADMIN_TOKEN, else the one Pilot generated in its data directory).
 * Undefined anywhere else.
 */
export function serverCredentials(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const settings = readKeyValues(serverSettingsFile(env));
  if (!settings) return undefined;
  const token = settings.PILOT_ADMIN_TOKEN || readIfReadable(path.join(settings.PILOT_DATA_DIR || '/var/lib/pilot', 'admin-token'))?.trim();
  if (!token) return undefined;
  const bind = settings.PILOT_BIND;
  const host = !bind || bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  return { url: `http://${host}:${settings.PILOT_PORT || '3000'}`, token };
}

/** KEY=value lines (install.sh writes them unquoted), or undefined when the file cannot be read. */
function readKeyValues(file: string): Record<string, string> | undefined {
  const text = readIfReadable(file);
  if (text === undefined) return undefined;
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1]) values[match[1]] = match[2] ?? '';
  }
  return values;
}

function readIfReadable(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${JSON.stringify(url)} is not a URL: use the server's address, e.g. https://pilot.example.com`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new CliError(`${url}: use an http:// or https:// URL`);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** The app: --app, else the name in the URL of the current repository's `pilot` remote (as heroku does). */
export function resolveApp(option: string | undefined, cwd = process.cwd()): string {
  if (option) return option;
  let remote: string;
  try {
    remote = execFileSync('git', ['remote', 'get-url', 'pilot'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    throw new CliError('which app? pass --app NAME (-a NAME), or run this in a repository with a `pilot` remote (`pilot git:remote -a NAME`)');
  }
  const match = /\/([a-z][a-z0-9-]*)\.git\/?$/.exec(remote);
  if (!match?.[1]) throw new CliError(`the pilot remote (${remote}) does not end in /<app>.git: pass --app NAME`);
  return match[1];
}
