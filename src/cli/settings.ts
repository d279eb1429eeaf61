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

/** PILOT_URL / PILOT_TOKEN win over the saved login. */
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
  if (!url || !token) throw new CliError('not logged in: run `pilot login https://pilot.example.com` (or set PILOT_URL and PILOT_TOKEN)');
  return { url: normalizeUrl(url), token };
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
