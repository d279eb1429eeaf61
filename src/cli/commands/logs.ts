import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context, positiveInteger } from '../context.js';
import { followLogs, type LogLine } from '../logs.js';

/** `pilot logs`: the recent lines, or -f to follow. */
export function registerLogCommands(program: Command): void {
  program
    .command('logs')
    .description("print the app's log; -f (--tail) keeps following it (and resumes after a dropped connection)")
    .addOption(appOption())
    .option('-n, --num <lines>', 'how many recent lines', (value) => positiveInteger(value), 100)
    .option('-f, --follow', 'keep printing new lines')
    .option('-t, --tail', 'the same as --follow (as heroku logs --tail)')
    .addHelpText('after', '\nExamples:\n  $ pilot logs -f -n 20 -a shop\n  $ pilot logs --tail -a shop')
    .action(async (options: { num: number; follow?: boolean; tail?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const app = appOf(command);
      const print = (line: LogLine): void => out.print(out.json ? JSON.stringify(line) : `${out.dim(line.time)} ${line.text}`);
      if (!options.follow && !options.tail) {
        const { lines } = await client().get<{ lines: LogLine[] }>(appPath(app, `/logs?lines=${options.num}`));
        lines.forEach(print);
        return;
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followLogs(client(), app, options.num, print, stop.signal);
    });
}
