#!/usr/bin/env node
/** `pilot`: the command line of a Pilot server, as `heroku` is Heroku's. */
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { CliError } from './errors.js';

const program = new Command('pilot')
  .description('Manage apps on a Pilot server: deploy with `git push pilot main`, then configure, roll back and read logs.')
  .option('--json', 'print JSON for scripts')
  .showHelpAfterError('(run `pilot help` for the commands)')
  .exitOverride();
registerCommands(program);
program.addHelpText(
  'after',
  '\nGetting started:\n  $ pilot login https://pilot.example.com\n  $ pilot git:remote -a myapp\n  $ git push pilot main\n\nPILOT_URL and PILOT_TOKEN override the saved login.',
);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed its message (or the help) already.
    process.exitCode = error.exitCode;
  } else if (error instanceof CliError) {
    process.stderr.write(`pilot: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`pilot: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
