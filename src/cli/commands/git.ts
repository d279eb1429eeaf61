import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import { credentialAnswer, helperCommand, parseCredentialRequest } from '../git-credentials.js';
import { loadCredentials, resolveApp } from '../settings.js';

/** `pilot git:remote` (the remote `git push` deploys through) and the credential helper it sets up. */
export function registerGitCommands(program: Command): void {
  program
    .command('git:remote')
    .description('add (or point) the `pilot` git remote at this app; git gets the token from pilot when it pushes, never from .git/config')
    .addOption(appOption())
    .option('-r, --remote <name>', 'the remote name', 'pilot')
    .addHelpText('after', '\nExample:\n  $ pilot git:remote -a shop && git push pilot main')
    .action((options: { remote: string; app?: string }, command: Command) => {
      const { out, client } = context(command);
      const app = options.app ?? resolveApp(undefined);
      const api = client();
      const url = `${api.url}/${app}.git`;
      try {
        git('rev-parse', '--git-dir');
      } catch {
        throw new CliError('not in a git repository: run `git init` first');
      }
      const previous = optional(() => git('remote', 'get-url', options.remote));
      if (previous === undefined) git('remote', 'add', options.remote, url);
      else if (previous !== url) git('remote', 'set-url', options.remote, url);
      // Earlier versions put the token in an http header setting: it goes.
      optional(() => git('config', '--local', '--unset-all', `http.${url}.extraHeader`));
      // An empty helper first: no other helper (a keychain) answers for this server, or stores its token.
      const helper = `credential.${api.url}.helper`;
      optional(() => git('config', '--local', '--unset-all', helper));
      git('config', '--local', '--add', helper, '');
      git('config', '--local', '--add', helper, helperCommand(process.execPath, process.execArgv, process.argv[1] ?? ''));
      const change = previous === undefined ? 'Added' : previous === url ? 'Kept' : 'Replaced';
      out.result({ remote: options.remote, url, previous: previous ?? null }, () =>
        [
          `${change} remote ${options.remote} -> ${url}${change === 'Replaced' ? ` (it was ${previous})` : ''}`,
          `git asks pilot for the token when it pushes (credential.${api.url}.helper); .git/config holds none`,
          `Deploy with: git push ${options.remote} main`,
        ].join('\n'),
      );
    });

  program
    .command('git:credential', { hidden: true })
    .description("git's credential helper (set by git:remote): answers `get` with the token of the current login")
    .argument('<operation>', 'get, store or erase (only get answers)')
    .addHelpText('after', "\nExample:\n  $ printf 'protocol=https\\nhost=pilot.example.com\\n' | pilot git:credential get")
    .action((operation: string) => {
      // store and erase: the login is pilot's to keep, not git's.
      if (operation !== 'get') return;
      const request = parseCredentialRequest(fs.readFileSync(0, 'utf8'));
      process.stdout.write(credentialAnswer(request, loadCredentials()));
    });
}

function git(...args: string[]): string {
  return execFileSync('git', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

/** What `read` gives, or undefined when git exits non-zero (no such remote, no such setting). */
function optional(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
