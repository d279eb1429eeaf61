import type { Command } from 'commander';
import { appPath } from '../client.js';
import { configSetBody } from '../config-vars.js';
import { appOf, appOption, context, positiveInteger } from '../context.js';
import { CliError } from '../errors.js';
import type { DestroyedApp, PreviewConfigView, PreviewList } from '../views.js';

/** `pilot previews`, `previews:enable`, `previews:disable`, `previews:config[:set|:unset]`, `previews:destroy`. */
export function registerPreviewCommands(program: Command): void {
  program
    .command('previews')
    .description("list an app's preview apps: one per pushed branch matching its preview pattern")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews -a shop\n\nA push of a matching branch deploys <app>--<branch> at its own URL; deleting the branch destroys it:\n  $ git push pilot preview/login\n  $ git push pilot --delete preview/login')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().get<PreviewList>(appPath(appOf(command), '/previews'));
      out.result(result, () => {
        const rows = result.previews.map((preview) => ({
          branch: preview.branch,
          app: preview.app,
          url: preview.url,
          release: preview.release ? `v${preview.release.version}` : '-',
          age: age(preview.createdAt, new Date()),
        }));
        return [settingsLine(result), rows.length > 0 ? out.table(rows, ['branch', 'app', 'url', 'release', 'age']) : '(no previews)'].join('\n');
      });
    });

  program
    .command('previews:enable')
    .description('deploy a preview app for each pushed branch matching a pattern (default preview/*), up to a limit')
    .addOption(appOption())
    .option('--pattern <glob>', "the branches that deploy previews, a glob ('preview/*', 'feature/**')")
    .option('--all-branches', 'every branch but the deploy branch deploys a preview')
    .option('--max <n>', 'how many previews may exist at once (default 5)', positiveInteger)
    .addHelpText(
      'after',
      "\nPreviews run the app's config with the preview overrides in place (previews:config:set), its limits and build dir, web=1.\n" +
        "\nExamples:\n  $ pilot previews:enable -a shop\n  $ pilot previews:enable --pattern 'feature/*' --max 3 -a shop\n  $ pilot previews:enable --all-branches -a shop",
    )
    .action(async (options: { pattern?: string; allBranches?: boolean; max?: number }, command: Command) => {
      if (options.pattern !== undefined && options.allBranches) throw new CliError('give --pattern or --all-branches, not both');
      const { out, client } = context(command);
      const body = {
        enabled: true,
        ...(options.allBranches ? { pattern: null } : options.pattern !== undefined ? { pattern: options.pattern } : {}),
        ...(options.max !== undefined ? { maxPreviews: options.max } : {}),
      };
      const result = await client().patch<PreviewList>(appPath(appOf(command), '/previews'), body);
      out.result(result, () => settingsLine(result));
    });

  program
    .command('previews:disable')
    .description('stop deploying previews (the ones that exist stay until destroyed)')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews:disable -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().patch<PreviewList>(appPath(appOf(command), '/previews'), { enabled: false });
      const left = result.previews.length;
      out.result(result, () => `${settingsLine(result)}${left > 0 ? `\n${left} preview(s) remain: pilot previews:destroy BRANCH` : ''}`);
    });

  program
    .command('previews:config')
    .description("show the preview overrides: config vars previews get in place of the app's")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews:config -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().get<PreviewConfigView>(appPath(appOf(command), '/previews/config'));
      out.result(result, () => overrideLines(result) || '(no preview overrides)');
    });

  program
    .command('previews:config:set')
    .description("set preview overrides; previews get them at their branch's next push")
    .argument('<pairs...>', 'KEY=VALUE ...')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews:config:set DATABASE_URL=postgres://db/staging BANNER=preview -a shop')
    .action(async (pairs: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const { set } = configSetBody(pairs, undefined);
      const result = await client().patch<PreviewConfigView>(appPath(appOf(command), '/previews/config'), { set });
      out.result(result, () => `Set ${Object.keys(set).join(', ')} for previews (from each preview branch's next push)`);
    });

  program
    .command('previews:config:unset')
    .description("remove preview overrides: previews get the app's value again at their next push")
    .argument('<keys...>')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews:config:unset BANNER -a shop')
    .action(async (keys: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().patch<PreviewConfigView>(appPath(appOf(command), '/previews/config'), { unset: keys });
      out.result(result, () => `Unset ${keys.join(', ')} for previews`);
    });

  program
    .command('previews:destroy')
    .description("destroy a branch's preview with its containers, images and routes (the branch's next push deploys it again)")
    .argument('<branch>')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot previews:destroy preview/login -a shop\n\n`git push pilot --delete preview/login` does it too.')
    .action(async (branch: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<DestroyedApp>(appPath(appOf(command), `/previews?branch=${encodeURIComponent(branch)}`));
      out.result(result, () => `Destroyed ${result.destroyed}: ${result.containers} container(s), ${result.images} image(s)`);
    });
}

function settingsLine(list: PreviewList): string {
  if (!list.enabled) return 'Previews are off (pilot previews:enable)';
  const branches = list.pattern === null ? 'every branch but the deploy branch' : `branches matching ${list.pattern}`;
  return `Previews: ${branches}, at most ${list.maxPreviews} (${list.previews.length} now)`;
}

function overrideLines(view: PreviewConfigView): string {
  return Object.entries(view.config).map(([key, value]) => `${key}=${value}`).join('\n');
}

/** How long ago, for people: `45s`, `12m`, `3h`, `2d`. */
export function age(since: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(since).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
