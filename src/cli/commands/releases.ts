import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import type { ReleaseView } from '../views.js';
import { shortSource } from './deploy.js';

/** `pilot releases`, `releases:info`, `rollback`. */
export function registerReleaseCommands(program: Command): void {
  program
    .command('releases')
    .description('list releases, newest first')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot releases -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const releases = await client().get<ReleaseView[]>(appPath(appOf(command), '/releases'));
      out.result(releases, () =>
        out.table(
          releases.map((release) => ({
            version: `v${release.version}`,
            description: release.description ?? release.kind,
            status: release.status,
            source: shortSource(release.source),
            by: release.madeBy?.label ?? '-',
            created: release.createdAt,
            reason: release.failureReason,
          })),
          ['version', 'description', 'status', 'source', 'by', 'created', 'reason'],
        ),
      );
    });

  program
    .command('releases:info')
    .description('show a release and its build and deploy log')
    .argument('<version>', 'e.g. v3')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot releases:info v3 -a shop')
    .action(async (version: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const release = await client().get<ReleaseView>(appPath(appOf(command), `/releases/${encodeURIComponent(version)}`));
      out.result(release, () =>
        [
          out.bold(`=== v${release.version} (${release.kind}, ${release.status})`),
          ...(release.description ? [`Change:   ${release.description}`] : []),
          `Source:   ${release.source ?? '-'}`,
          `Image:    ${release.image ?? '-'}`,
          `By:       ${release.madeBy?.label ?? '-'}`,
          `Config:   ${release.configKeys.join(', ') || '-'}`,
          `Build:    ${release.buildKeys.join(', ') || '-'}`,
          `Created:  ${release.createdAt}`,
          ...(release.failureReason ? [`Failed:   ${release.failureReason}`] : []),
          '',
          out.terminal(release.log ?? ''),
        ].join('\n').trimEnd(),
      );
    });

  program
    .command('rollback')
    .description('serve an earlier release again: its image and config, blue/green, no rebuild')
    .argument('[version]', 'e.g. v3 (default: the release before the live one)')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot rollback v3 -a shop')
    .action(async (version: string | undefined, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const release = await client().post<ReleaseView>(appPath(appOf(command), '/rollback'), version ? { version } : {});
      out.result(release, () => rollbackSummary(release));
    });
}

/** "Rollback to v2 done: v4 serves its image and config": the description names the version it went back to. */
export function rollbackSummary(release: Pick<ReleaseView, 'version' | 'description'>): string {
  return `${release.description ?? 'Rollback'} done: v${release.version} serves its image and config`;
}
