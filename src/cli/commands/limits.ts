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
    .description('set memory and CPU limits per container (default: the server\'s) and the capabilities given back; a running app gets a new release with them')
    .argument('<pairs...>', 'memory=SIZE (256m, 1g, default), cpus=N (0.5, default), cap-add=NAMES (NET_RAW,SYS_CHROOT; default: none)')
    .addOption(appOption())
    .addHelpText('after', '\nExamples:\n  $ pilot limits:set memory=256m cpus=0.5 -a shop\n  $ pilot limits:set cap-add=NET_RAW -a monitor')
    .action(async (pairs: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const body: { memory?: string | null; cpus?: number | null; capAdd?: string[] | null } = {};
      for (const pair of pairs) {
        const [key, value = ''] = pair.split('=', 2);
        if (key === 'memory') body.memory = value === 'default' ? null : value;
        else if (key === 'cpus') body.cpus = value === 'default' ? null : cpusOf(value);
        else if (key === 'cap-add') body.capAdd = value === 'default' || value === '' ? null : value.split(',');
        else throw new CliError(`"${pair}" is not memory=SIZE, cpus=N or cap-add=NAMES`);
      }
      const result = await client().patch<{ limits: LimitsView; release: { version: number } | null }>(appPath(appOf(command), '/limits'), body);
      out.result(result, () => `${showLimits(result.limits)}${result.release ? `\nReleased v${result.release.version}` : ''}`);
    });
}

/** A number of cores; anything else is refused here (sent as JSON, NaN would arrive as null: the default). */
function cpusOf(value: string): number {
  const cpus = Number(value);
  if (value.trim() === '' || !Number.isFinite(cpus)) throw new CliError(`cpus=${value} is not a number of cores (e.g. cpus=0.5, or cpus=default)`);
  return cpus;
}

function showLimits(limits: LimitsView): string {
  const mark = (custom: boolean) => (custom ? '' : ' (default)');
  const capabilities = limits.capAdd.length > 0 ? `\nCapabilities added: ${limits.capAdd.join(', ')}` : '';
  return `Memory: ${Math.round(limits.memoryBytes / 2 ** 20)}m${mark(limits.custom.memory)}\nCPUs:   ${limits.cpus}${mark(limits.custom.cpus)}${capabilities}`;
}
