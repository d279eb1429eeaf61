import type { Command } from 'commander';
import { appOf, appOption, context } from '../context.js';
import { runCommand } from '../run.js';

/** `pilot run`: a one-off container of the live release. */
export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description("run a command in a new container of the live release, with the app's config and volumes")
    .argument('<command...>', 'the command and its arguments')
    .addOption(appOption())
    // The command's own options (node -v) are not pilot's: they pass through.
    .allowUnknownOption()
    .addHelpText(
      'after',
      "\nStdin goes to the command: a terminal's keys, or what is piped in until it ends." +
        "\nPilot's own options (-a, --json, -h) are read anywhere: after --, everything is the command's." +
        '\n\nExamples:\n  $ pilot run node -v -a shop\n  $ pilot run -a shop -- node scripts/migrate.js --dry-run\n  $ pilot run -a shop psql < dump.sql',
    )
    .action(async (words: string[], _options: unknown, command: Command) => {
      const { client } = context(command);
      process.exitCode = await runCommand(client(), appOf(command), words);
    });
}
