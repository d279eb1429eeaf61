import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import type { VolumeView } from '../views.js';
import { volumePlacementNote } from '../../domain/volume-placement.js';

/** What POST /apps/:app/storage answers. */
export interface MountAnswer {
  readonly volume: Pick<VolumeView, 'name' | 'path'>;
  readonly release: { readonly version: number } | null;
  /** Swarm mode: the node that holds the volume. */
  readonly node?: string;
}

/** The answer of `storage:mount`; on a swarm it says where the app runs from now on, and how it is updated. */
export function mountedMessage(answer: MountAnswer): string {
  const mounted = `Mounted ${answer.volume.name} at ${answer.volume.path}${answer.release ? ` (released v${answer.release.version})` : ' (from the first deploy)'}`;
  if (answer.node === undefined) return mounted;
  return `${mounted}\n${volumePlacementNote(answer.node)}`;
}

/** `pilot storage`, `storage:mount`, `storage:unmount`. */
export function registerStorageCommands(program: Command): void {
  program
    .command('storage')
    .description("list the app's volumes")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot storage -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const volumes = await client().get<VolumeView[]>(appPath(appOf(command), '/storage'));
      out.result(volumes, () => out.table(volumes, ['path', 'name', 'createdAt']));
    });

  program
    .command('storage:mount')
    .description('mount a persistent volume at a path in every container of the app (survives deploys, restarts, rollbacks)')
    .argument('<path>', 'absolute path inside the container, e.g. /app/uploads')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot storage:mount /app/uploads -a shop')
    .action(async (mountPath: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().post<MountAnswer>(appPath(appOf(command), '/storage'), { path: mountPath });
      out.result(result, () => mountedMessage(result));
    });

  program
    .command('storage:unmount')
    .description('unmount a volume; its files are kept')
    .argument('<path>')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot storage:unmount /app/uploads -a shop')
    .action(async (mountPath: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ volume: VolumeView; release: { version: number } | null }>(appPath(appOf(command), `/storage?path=${encodeURIComponent(mountPath)}`));
      out.result(result, () => `Unmounted ${result.volume.path}; ${result.volume.name} keeps its files${result.release ? ` (released v${result.release.version})` : ''}`);
    });
}
