import type { Command } from 'commander';
import { appPath } from '../client.js';
import { context } from '../context.js';
import { metricsReport, processTable } from '../metrics.js';
import type { MetricsView, ProcessMetrics } from '../../domain/shapes.js';

/** `pilot metrics [-a APP]`: every process's CPU, memory, network, restarts and uptime, and the host's. */
export function registerMetricsCommands(program: Command): void {
  program
    .command('metrics')
    .description("show CPU, memory, network, restarts and uptime of every process, and the host's (CPU, memory, load, disks); -a: one app's processes")
    .option('-a, --app <name>', 'only this app')
    .addHelpText('after', '\nExamples:\n  $ pilot metrics\n  $ pilot metrics -a shop --json')
    .action(async (options: { app?: string }, command: Command) => {
      const { out, client } = context(command);
      if (options.app) {
        const { processes } = await client().get<{ processes: ProcessMetrics[] }>(appPath(options.app, '/metrics'));
        out.result(processes, () => processTable(out, processes, false));
        return;
      }
      const view = await client().get<MetricsView>('/metrics');
      out.result(view, () => metricsReport(out, view));
    });
}
