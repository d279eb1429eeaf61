import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context, positiveInteger } from '../context.js';
import { followLogs, logQuery, sinceTime, type LogLine } from '../logs.js';

/** `pilot logs`: the recent lines of every process of the live release, or -f to follow. */
export function registerLogCommands(program: Command): void {
  program
    .command('logs')
    .description("print the app's log, every process of the live release (web.1 | ...) and a router line per request; -f (--tail) keeps following it (and resumes after a dropped connection)")
    .addOption(appOption())
    .option('-n, --num <lines>', 'how many recent lines', (value) => positiveInteger(value), 100)
    .option('-f, --follow', 'keep printing new lines')
    .option('-t, --tail', 'the same as --follow (as heroku logs --tail)')
    .option('--ps <process>', 'only this process type (web), process (web.1), or the router lines (router)')
    .option('--since <when>', 'only lines since a time (2026-12-01T10:00:00Z) or a duration ago (30s, 10m, 2h, 1d)')
    .addHelpText('after', '\nExamples:\n  $ pilot logs -f -n 20 -a shop\n  $ pilot logs --tail -a shop\n  $ pilot logs --ps worker --since 10m\n  $ pilot logs --ps router -n 50')
    .action(async (options: { num: number; follow?: boolean; tail?: boolean; ps?: string; since?: string }, command: Command) => {
      const { out, client } = context(command);
      const app = appOf(command);
      const request = { lines: options.num, ps: options.ps, since: options.since === undefined ? undefined : sinceTime(options.since, new Date()) };
      const print = (line: LogLine): void => out.print(out.json ? JSON.stringify(line) : `${out.dim(line.time)} ${line.process} | ${line.text}`);
      if (!options.follow && !options.tail) {
        const { lines } = await client().get<{ lines: LogLine[] }>(appPath(app, `/logs?${logQuery(request)}`));
        lines.forEach(print);
        return;
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followLogs(client(), app, request, print, stop.signal);
    });
}
