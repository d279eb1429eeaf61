import type { Command } from 'commander';
import { context } from '../context.js';

/** `pilot tokens`, `tokens:create`, `tokens:revoke`. */
export function registerTokenCommands(program: Command): void {
  program
    .command('tokens')
    .description('list tokens (never their secrets)')
    .addHelpText('after', '\nExample:\n  $ pilot tokens')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const tokens = await client().get<Record<string, unknown>[]>('/tokens');
      out.result(tokens, () => out.table(tokens, ['id', 'name', 'prefix', 'scope', 'app', 'lastUsedAt']));
    });

  program
    .command('tokens:create')
    .description('create a token: an admin token, or with --app a deploy token for one app; shown once')
    .argument('<name>', 'what it is for, e.g. "ci"')
    .option('--app <name>', 'scope the token to this app (push, deploy, read status, releases and logs)')
    .addHelpText('after', '\nExample:\n  $ pilot tokens:create ci --app shop --json')
    .action(async (name: string, options: { app?: string }, command: Command) => {
      const { out, client } = context(command);
      const created = await client().post<{ token: string; scope: string; app: string | null }>('/tokens', { name, ...(options.app ? { app: options.app } : {}) });
      out.result(created, () => `${created.token}\n${out.dim(`(${created.scope === 'admin' ? 'admin token' : `deploy token for ${created.app}`}; shown only now)`)}`);
    });

  program
    .command('tokens:revoke')
    .description('revoke a token by id, name or prefix')
    .argument('<token>')
    .addHelpText('after', '\nExample:\n  $ pilot tokens:revoke ci')
    .action(async (token: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ revoked: { name: string; prefix: string }[] }>(`/tokens/${encodeURIComponent(token)}`);
      out.result(result, () => `Revoked ${result.revoked.map((revoked) => `${revoked.name} (${revoked.prefix}…)`).join(', ')}`);
    });
}
