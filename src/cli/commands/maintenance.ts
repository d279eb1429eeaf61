import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import type { AppStatus } from '../views.js';

/** `pilot maintenance`, `maintenance:on`, `maintenance:off`: a 503 page for visitors while the app keeps running. */
export function registerMaintenanceCommands(program: Command): void {
  program
    .command('maintenance')
    .description('show whether the app is in maintenance mode')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot maintenance -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const app = await client().get<AppStatus>(appPath(appOf(command)));
      out.result({ maintenance: app.maintenance }, () => (app.maintenance ? 'on' : 'off'));
    });
  for (const enabled of [true, false]) {
    program
      .command(enabled ? 'maintenance:on' : 'maintenance:off')
      .description(enabled ? 'visitors get a 503 maintenance page (Retry-After: 60) while the app keeps running' : 'visitors reach the app again')
      .addOption(appOption())
      .addHelpText('after', `\nExample:\n  $ pilot maintenance:${enabled ? 'on' : 'off'} -a shop`)
      .action(async (_options: unknown, command: Command) => {
        const { out, client } = context(command);
        const app = await client().post<AppStatus>(appPath(appOf(command), '/maintenance'), { enabled });
        out.result(app, () => (enabled ? `${app.name} is in maintenance: ${app.url} answers 503 until \`pilot maintenance:off\`` : `${app.name} is out of maintenance: ${app.url} reaches the app`));
      });
  }
}
