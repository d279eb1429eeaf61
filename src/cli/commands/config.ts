import type { Command } from 'commander';
import { appPath } from '../client.js';
import { configLines, configSetBody, configSetSummary, nextBuildLines, type ConfigView } from '../config-vars.js';
import { appOf, appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import type { ReleaseView } from '../views.js';

/** `pilot config`, `config:get`, `config:set`, `config:unset`. */
export function registerConfigCommands(program: Command): void {
  program
    .command('config')
    .description('show config vars; build vars (builds see them too) are marked "# build"')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot config -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().get<ConfigView>(appPath(appOf(command), '/config'));
      out.result(result, () => configLines(result) || '(no config vars)');
    });

  program
    .command('config:get')
    .description('print one config var')
    .argument('<key>')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot config:get DATABASE_URL -a shop')
    .action(async (key: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const { config } = await client().get<ConfigView>(appPath(appOf(command), '/config'));
      if (!(key in config)) throw new CliError(`${key} is not set`);
      out.result({ [key]: config[key] }, () => config[key] ?? '');
    });

  program
    .command('config:set')
    .description('set config vars; a running app gets a new release with them (blue/green)')
    .argument('<pairs...>', 'KEY=VALUE ... (with --build or --no-build, a KEY alone changes only that)')
    .option('--build', 'builds see these vars too (build args, build environment): used from the next push')
    .option('--no-build', 'these vars are runtime only again (the default for a new var)')
    .addOption(appOption())
    .addHelpText(
      'after',
      '\nA var set without --build or --no-build keeps what it was.\n' +
        '\nExamples:\n  $ pilot config:set GREETING=hi NODE_OPTIONS=--max-old-space-size=256 -a shop' +
        '\n  $ pilot config:set --build VITE_API_URL=https://api.example.com -a shop' +
        '\n  $ pilot config:set --no-build NPM_TOKEN -a shop',
    )
    .action(async (pairs: string[], options: { build?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const body = configSetBody(pairs, options.build);
      const result = await client().patch<ConfigView & { release: ReleaseView | null }>(appPath(appOf(command), '/config'), body);
      out.result(result, () => configSetSummary(body, result).join('\n'));
    });

  program
    .command('config:unset')
    .description('remove config vars; a running app gets a new release without them')
    .argument('<keys...>')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot config:unset GREETING -a shop')
    .action(async (keys: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().patch<ConfigView & { release: ReleaseView | null }>(appPath(appOf(command), '/config'), { unset: keys });
      out.result(result, () => [`Unset ${keys.join(', ')}${result.release ? ` and released v${result.release.version}` : ''}`, ...nextBuildLines(result)].join('\n'));
    });
}
