import type { Command } from 'commander';
import { appOf, appOption, context } from '../context.js';
import { runCommand } from '../run.js';

/** `pilot run`: a one-off container of the live release. */
export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description("run a command in a new container of the live release, with the app's config and volumes")
    .argument('<command...>', 'the command and its arguments, after --')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot run -a shop -- node scripts/migrate.js --dry-run')
    .action(async (words: string[], _options: unknown, command: Command) => {
      const { client } = context(command);
      process.exitCode = await runCommand(client(), appOf(command), words);
    });
}
