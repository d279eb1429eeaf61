import { Command } from 'commander';
import { registerCommands } from './commands.js';
import { cliVersion } from './version.js';

/** The `pilot` program with every command, not yet parsed. */
export function buildProgram(): Command {
  const program = new Command('pilot')
    .description('Manage apps on a Pilot server: deploy with `git push pilot main`, then configure, roll back and read logs.')
    .version(cliVersion(), '-V, --version', 'print the version of this CLI')
    .option('--json', 'print JSON for scripts')
    .showHelpAfterError('(run `pilot help` for the commands)')
    .exitOverride();
  registerCommands(program);
  program.addHelpText(
    'after',
    '\nGetting started:\n  $ pilot login https://pilot.example.com\n  $ pilot git:remote -a myapp\n  $ git push pilot main\n\nPILOT_URL and PILOT_TOKEN override the saved login.',
  );
  return program;
}
