import type { Command } from 'commander';
import { appPath } from '../client.js';
import { context } from '../context.js';

type Links = { links: string[]; linkedFrom: string[] };

function show(app: string, view: Links): string {
  return `${app} reaches: ${view.links.length > 0 ? view.links.join(', ') : 'no other app'}\n${app} is reached by: ${view.linkedFrom.length > 0 ? view.linkedFrom.join(', ') : 'no other app'}`;
}

/** Links: an app's containers join another app's network (each app has its own). */
export function registerLinkCommands(program: Command): void {
  program
    .command('apps:links')
    .description('show which apps an app is linked to')
    .argument('<app>')
    .addHelpText('after', '\nExample:\n  $ pilot apps:links shop')
    .action(async (app: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const view = await client().get<Links>(appPath(app, '/links'));
      out.result(view, () => show(app, view));
    });
  program
    .command('apps:link')
    .description("link APP to OTHER: APP's containers join OTHER's network and reach its web processes at http://OTHER:PORT (apps are apart otherwise)")
    .argument('<app>')
    .argument('<other>')
    .addHelpText('after', '\nExample:\n  $ pilot apps:link shop billing')
    .action(async (app: string, other: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const view = await client().post<Links>(appPath(app, '/links'), { app: other });
      out.result(view, () => show(app, view));
    });
  program
    .command('apps:unlink')
    .description("undo apps:link: APP's containers leave OTHER's network")
    .argument('<app>')
    .argument('<other>')
    .addHelpText('after', '\nExample:\n  $ pilot apps:unlink shop billing')
    .action(async (app: string, other: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const view = await client().delete<Links>(appPath(app, `/links/${encodeURIComponent(other)}`));
      out.result(view, () => show(app, view));
    });
}
