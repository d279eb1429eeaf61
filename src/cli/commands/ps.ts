import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import type { ProcessView } from '../views.js';
import { memory, percent } from '../metrics.js';

/** `pilot ps`, `restart`, `stop`, `start`, `ps:restart [type]`, `ps:scale`. */
export function registerProcessCommands(program: Command): void {
  program
    .command('ps')
    .description("show the app's containers: state, health, release, uptime, restarts, CPU and memory (and the process types scaled to 0)")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot ps -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const processes = await client().get<ProcessView[]>(appPath(appOf(command), '/ps'));
      out.result(processes, () => showProcesses(out, processes));
    });

  for (const action of ['restart', 'stop', 'start'] as const) {
    program
      .command(action)
      .description(`${action} the app's containers`)
      .addOption(appOption())
      .addHelpText('after', `\nExample:\n  $ pilot ${action} -a shop`)
      .action(async (_options: unknown, command: Command) => {
        const { out, client } = context(command);
        const processes = await client().post<ProcessView[]>(appPath(appOf(command), `/ps/${action}`));
        out.result(processes, () => showProcesses(out, processes));
      });
  }

  program
    .command('ps:restart')
    .description("restart the app's containers, or only those of one process type")
    .argument('[type]', 'a process type, e.g. web or worker (default: every type)')
    .addOption(appOption())
    .addHelpText('after', '\nExamples:\n  $ pilot ps:restart -a shop\n  $ pilot ps:restart worker -a shop')
    .action(async (type: string | undefined, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const processes = await client().post<ProcessView[]>(appPath(appOf(command), '/ps/restart'), type === undefined ? undefined : { type });
      out.result(processes, () => showProcesses(out, processes));
    });

  program
    .command('ps:scale')
    .description('run this many containers of each process type (no rebuild, no dropped request; kept across deploys)')
    .argument('<pairs...>', 'TYPE=COUNT ...')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot ps:scale web=3 worker=2 -a shop')
    .action(async (pairs: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const quantities: Record<string, number> = {};
      for (const pair of pairs) {
        const match = /^([A-Za-z0-9_-]+)=(\d+)$/.exec(pair);
        if (!match?.[1] || match[2] === undefined) throw new CliError(`"${pair}" is not TYPE=COUNT (e.g. web=3)`);
        quantities[match[1]] = Number(match[2]);
      }
      const processes = await client().post<ProcessView[]>(appPath(appOf(command), '/ps/scale'), quantities);
      out.result(processes, () => showProcesses(out, processes));
    });
}

function showProcesses(out: Output, processes: ProcessView[]): string {
  return out.table(
    processes.map((process) => ({
      ...process,
      process: process.index === null ? process.type : `${process.type}.${process.index}`,
      release: `v${process.release}`,
      uptime: process.uptimeSeconds === null ? null : duration(process.uptimeSeconds),
      cpu: percent(process.cpuPercent),
      memory: memory(process.memoryBytes, process.memoryLimitBytes),
    })),
    // Swarm mode: where each task runs.
    ['process', 'release', 'state', 'health', 'uptime', 'restarts', 'cpu', 'memory', ...(processes.some((process) => process.node) ? ['node'] : []), 'container'],
  );
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}
