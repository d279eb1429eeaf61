import fs from 'node:fs';
import type { Credentials } from './settings.js';

/**
 * git's credential helper protocol (gitcredentials(7)): git writes `key=value` lines (protocol,
 * host, ...) and reads back `username` and `password`. `pilot git:credential get` answers with
 * the token of the current login for its server, so the token is never copied into .git/config
 * and a new login applies to every repository at once.
 */
export function parseCredentialRequest(text: string): Record<string, string> {
  const request: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const separator = line.indexOf('=');
    if (separator > 0) request[line.slice(0, separator)] = line.slice(separator + 1).trimEnd();
  }
  return request;
}

/** The answer to `get`: the login's token when git asks for the login's server, else nothing (git goes on asking elsewhere). */
export function credentialAnswer(request: Readonly<Record<string, string>>, credentials: Credentials): string {
  const server = new URL(credentials.url);
  if (request.protocol !== server.protocol.replace(/:$/, '') || request.host !== server.host) return '';
  return `username=pilot\npassword=${credentials.token}\n`;
}

/**
 * How git runs this CLI as its helper: the script itself when it is an executable (the
 * installed `pilot`: its `#!/usr/bin/env node` finds Node then), else Node with the same
 * arguments as now (a development checkout run with tsx).
 */
export function helperCommand(execPath: string, execArgv: readonly string[], script: string): string {
  const executable = (() => {
    try {
      return (fs.statSync(script).mode & 0o111) !== 0 && fs.readFileSync(script, 'utf8').startsWith('#!');
    } catch {
      return false;
    }
  })();
  const words = executable ? [script] : [execPath, ...execArgv, script];
  return `!${words.map(shellQuote).join(' ')} git:credential`;
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}
