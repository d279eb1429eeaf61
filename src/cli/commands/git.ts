import type { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import { resolveApp } from '../settings.js';

/** `pilot git:remote`: the remote `git push` deploys through. */
export function registerGitCommands(program: Command): void {
  program
    .command('git:remote')
    .description('add the `pilot` git remote for this repository; the token goes in an http header setting, not in the URL')
    .addOption(appOption())
    .option('-r, --remote <name>', 'the remote name', 'pilot')
    .addHelpText('after', '\nExample:\n  $ pilot git:remote -a shop && git push pilot main')
    .action((options: { remote: string; app?: string }, command: Command) => {
      const { out, client } = context(command);
      const app = options.app ?? resolveApp(undefined);
      const api = client();
      const url = `${api.url}/${app}.git`;
      const git = (...args: string[]): string => execFileSync('git', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
      try {
        git('rev-parse', '--git-dir');
      } catch {
        throw new CliError('not in a git repository: run `git init` first');
      }
      const existing = (() => {
        try {
          return git('remote', 'get-url', options.remote);
        } catch {
          return undefined;
        }
      })();
      if (existing === undefined) git('remote', 'add', options.remote, url);
      else git('remote', 'set-url', options.remote, url);
      const basic = Buffer.from(`pilot:${api.token}`).toString('base64');
      git('config', '--local', '--replace-all', `http.${url}.extraHeader`, `Authorization: Basic ${basic}`);
      out.result({ remote: options.remote, url }, () => `Remote ${options.remote} -> ${url}\nDeploy with: git push ${options.remote} main`);
    });
}
