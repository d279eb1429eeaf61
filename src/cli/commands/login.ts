import type { Command } from 'commander';
import { ApiClient } from '../client.js';
import { ask, context } from '../context.js';
import { normalizeUrl, saveCredentials } from '../settings.js';

/** `pilot login` (the server and token the next commands use) and `pilot whoami`. */
export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description('store the server URL and a token (mode 0600) for the next commands')
    .argument('<url>', 'the server, e.g. https://pilot.example.com')
    .option('--token <token>', 'the token (default: asked, or read from stdin, or PILOT_TOKEN)')
    .addHelpText('after', '\nExample:\n  $ pilot login https://pilot.example.com')
    .action(async (url: string, options: { token?: string }, command: Command) => {
      const { out } = context(command);
      const token =
        options.token ?? process.env.PILOT_TOKEN ?? (await ask('Token: ', 'no token: pass --token TOKEN, set PILOT_TOKEN, or give it on stdin (`pilot login URL < token-file`)'));
      const credentials = { url: normalizeUrl(url), token: token.trim() };
      const who = await new ApiClient(credentials).get<{ scope: string; app: string | null }>('/whoami');
      const file = saveCredentials(credentials);
      out.result({ url: credentials.url, ...who, file }, () => `Logged in to ${credentials.url} with ${who.scope === 'admin' ? 'an admin token' : `a deploy token for ${who.app}`} (saved in ${file})`);
    });

  program
    .command('whoami')
    .description('show the server and what the token in use may do')
    .addHelpText('after', '\nExample:\n  $ pilot whoami')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      const who = await api.get<{ scope: string; app: string | null }>('/whoami');
      out.result({ url: api.url, ...who }, () => `${api.url}: ${who.scope === 'admin' ? 'an admin token' : `a deploy token for ${who.app}`}`);
    });
}
