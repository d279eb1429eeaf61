import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import type { LimitsView } from '../views.js';

/** `pilot limits`, `limits:set`. */
export function registerLimitCommands(program: Command): void {
  program
    .command('limits')
    .description("show the memory and CPU limits of the app's containers")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot limits -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const limits = await client().get<LimitsView>(appPath(appOf(command), '/limits'));
      out.result(limits, () => showLimits(limits));
    });

  program
    .command('limits:set')
    .description('set memory and CPU limits per container (default: the server\'s); a running app gets a new release with them')
    .argument('<pairs...>', 'memory=SIZE (256m, 1g, default) and/or cpus=N (0.5, default)')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot limits:set memory=256m cpus=0.5 -a shop')
    .action(async (pairs: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const body: { memory?: string | null; cpus?: number | null } = {};
      for (const pair of pairs) {
        const [key, value = ''] = pair.split('=', 2);
        if (key === 'memory') body.memory = value === 'default' ? null : value;
        else if (key === 'cpus') body.cpus = value === 'default' ? null : Number(value);
        else throw new CliError(`"${pair}" is not memory=SIZE or cpus=N`);
      }
      const result = await client().patch<{ limits: LimitsView; release: { version: number } | null }>(appPath(appOf(command), '/limits'), body);
      out.result(result, () => `${showLimits(result.limits)}${result.release ? `\nReleased v${result.release.version}` : ''}`);
    });
}

function showLimits(limits: LimitsView): string {
  const mark = (custom: boolean) => (custom ? '' : ' (default)');
  return `Memory: ${Math.round(limits.memoryBytes / 2 ** 20)}m${mark(limits.custom.memory)}\nCPUs:   ${limits.cpus}${mark(limits.custom.cpus)}`;
}
