import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import type { CronEntryView, CronRunView } from '../../domain/shapes.js';

/** `pilot cron` (the live release's app.json cron entries) and `pilot cron:runs` (what their runs printed). */
export function registerCronCommands(program: Command): void {
  program
    .command('cron')
    .description("list the live release's app.json cron entries: schedule (UTC), next run, last run and its exit code")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot cron -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const { entries } = await client().get<{ entries: CronEntryView[] }>(appPath(appOf(command), '/cron'));
      out.result(entries, () =>
        out.table(
          entries.map((entry) => ({
            id: entry.id,
            schedule: entry.schedule,
            command: entry.command,
            next: entry.maintenance ? 'maintenance' : entry.nextRunAt,
            last: entry.lastRun?.scheduledAt,
            result: entry.lastRun && describeResult(entry.lastRun),
          })),
          ['id', 'schedule', 'command', 'next', 'last', 'result'],
        ),
      );
    });

  program
    .command('cron:runs')
    .description('show recorded cron runs, newest first, with exit code and output (the last 64 KiB of each)')
    .argument('[entry]', 'an entry id from `pilot cron` (default: every entry)')
    .addOption(appOption())
    .option('-n, --limit <count>', 'how many runs', '10')
    .addHelpText('after', '\nExample:\n  $ pilot cron:runs 3f2a9c1d -a shop -n 3')
    .action(async (entry: string | undefined, options: { limit: string }, command: Command) => {
      const { out, client } = context(command);
      const query = new URLSearchParams({ limit: options.limit, ...(entry ? { entry } : {}) });
      const { runs } = await client().get<{ runs: CronRunView[] }>(appPath(appOf(command), `/cron/runs?${query}`));
      out.result(runs, () =>
        runs.length === 0
          ? '(none)'
          : runs
              .map((run) =>
                [out.bold(`=== ${run.entry} at ${run.scheduledAt} (v${run.release}): ${describeResult(run)}`), `$ ${run.command}`, (run.output ?? '').trimEnd()]
                  .filter((line) => line !== '')
                  .join('\n'),
              )
              .join('\n\n'),
      );
    });
}

function describeResult(run: CronRunView): string {
  if (run.status === 'succeeded' || run.status === 'failed') return run.exitCode === null ? run.status : `${run.status} (exit ${run.exitCode})`;
  return run.status;
}
