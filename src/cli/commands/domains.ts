import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';

/** `pilot domains`, `domains:add`, `domains:remove`. */
export function registerDomainCommands(program: Command): void {
  program
    .command('domains')
    .description("list an app's custom domains")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot domains -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().get<{ domains: string[] }>(appPath(appOf(command), '/domains'));
      out.result(result, () => result.domains.join('\n') || '(no custom domains)');
    });

  for (const [name, verb] of [['domains:add', 'add'], ['domains:remove', 'remove']] as const) {
    program
      .command(name)
      .description(verb === 'add' ? 'serve the app at a domain of yours too (point its DNS at the server)' : 'stop serving the app at a domain')
      .argument('<domain>')
      .addOption(appOption())
      .addHelpText('after', `\nExample:\n  $ pilot ${name} www.example.com -a shop`)
      .action(async (domain: string, _options: unknown, command: Command) => {
        const { out, client } = context(command);
        const app = appOf(command);
        const result = verb === 'add'
          ? await client().post<{ domains: string[] }>(appPath(app, '/domains'), { domain })
          : await client().delete<{ domains: string[] }>(appPath(app, `/domains/${encodeURIComponent(domain)}`));
        out.result(result, () => `${verb === 'add' ? 'Added' : 'Removed'} ${domain}; ${app} now answers at: ${result.domains.join(', ') || 'its own name only'}`);
      });
  }
}
