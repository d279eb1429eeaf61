import type { Command } from 'commander';
import { execFileSync, spawn } from 'node:child_process';
import { appPath } from '../client.js';
import { appOf, appOfArgument, appOption, ask, context } from '../context.js';
import { CliError } from '../errors.js';
import type { AppStatus, RepoSourceView } from '../views.js';
import { repoBody, repoLines, sync } from './repo.js';

/** `pilot apps`, `apps:create`, `apps:info`, `open`, `apps:set`, `apps:rename`, `apps:destroy`. */
export function registerAppCommands(program: Command): void {
  program
    .command('apps')
    .description('list apps')
    .addHelpText('after', '\nExample:\n  $ pilot apps')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const apps = await client().get<AppStatus[]>('/apps');
      out.result(apps, () => out.table(apps.map(appRow), ['name', 'release', 'state', 'url']));
    });

  program
    .command('apps:create')
    .description('create an app (pushing to a new name does it too); with --repo, one the server deploys from a repository URL')
    .argument('<name>', 'lowercase letters, digits and dashes')
    .option('--repo <url>', "deploy from this repository's https:// URL: the server fetches the branch and deploys its head now, on `pilot git:sync` and on its push webhook")
    .option('-b, --branch <branch>', 'with --repo: the branch that deploys', 'main')
    .option('--credential-stdin', 'with --repo: read a token (or user:token) for a private repository from stdin; kept as a secret, never shown')
    .option('--no-sync', 'with --repo: create it without deploying now')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pilot apps:create shop\n  $ pilot apps:create shop --repo https://github.com/acme/shop.git --branch main\n' +
        '  $ printf %s "$TOKEN" | pilot apps:create shop --repo https://gitlab.com/acme/shop.git --credential-stdin\n' +
        '\nThen `pilot git:webhook -a shop` shows the push webhook to add to the git host.',
    )
    .action(async (name: string, options: { repo?: string; branch: string; credentialStdin?: boolean; sync: boolean }, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      if (options.repo === undefined) {
        const app = await api.post<AppStatus>('/apps', { name });
        out.result(app, () => `Created ${app.name}: push to ${api.url}/${app.name}.git, then visit ${app.url}`);
        return;
      }
      const app = await api.post<AppStatus>('/apps', { name, repo: repoBody(options.repo, options) });
      const created = `Created ${app.name}, deploying ${options.branch} of ${options.repo}`;
      if (!options.sync || out.json) {
        out.result(app, () => `${created}: deploy it with \`pilot git:sync -a ${app.name}\``);
        return;
      }
      process.stdout.write(`${created}\n`);
      if (!(await sync(api, app.name))) throw new CliError(`${app.name} was created but not deployed (the lines above say why): fix it, then \`pilot git:sync -a ${app.name}\``);
    });

  program
    .command('apps:info')
    .description("show an app's release, state, URL and domains")
    .argument('[name]', 'the app (or -a NAME; default: from the `pilot` git remote)')
    .addOption(appOption())
    .addHelpText('after', '\nExamples:\n  $ pilot apps:info shop\n  $ pilot apps:info -a shop')
    .action(async (name: string | undefined, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      const appName = appOfArgument(name, command);
      const app = await api.get<AppStatus>(appPath(appName));
      // An app without a repository URL (or a server without them) answers 404: nothing to show.
      const source = await api.get<RepoSourceView>(appPath(appName, '/repo')).catch(() => undefined);
      out.result(source ? { ...app, repo: source } : app, () =>
        [
          out.bold(`=== ${app.name}`),
          `URL:       ${app.url}`,
          `Domains:   ${app.domains.join(', ') || '-'}`,
          `Release:   ${app.release ? `v${app.release.version} (${app.release.kind}${app.release.gitSha ? ` ${app.release.gitSha.slice(0, 7)}` : ''})` : 'none yet: git push to deploy'}`,
          `State:     ${app.state ?? '-'}${app.deploying ? ' (deploying)' : ''}`,
          `Build dir: ${app.buildDir ?? '- (the repository root)'}`,
          ...(source ? repoLines(api, source) : []),
          `Watch:     ${app.watchSeconds === null ? "the server's default" : app.watchSeconds === 0 ? 'off' : `${app.watchSeconds} s`} (automatic rollback of a new release)`,
          `Created:   ${app.createdAt}`,
        ].join('\n'),
      );
    });

  program
    .command('open')
    .description("print the app's URL, and open it in the browser when on a terminal")
    .argument('[name]', 'the app (or -a NAME; default: from the `pilot` git remote)')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot open -a shop')
    .action(async (name: string | undefined, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const app = await client().get<AppStatus>(appPath(appOfArgument(name, command)));
      out.result({ url: app.url }, () => app.url);
      if (!out.json && process.stdout.isTTY) openInBrowser(app.url);
    });

  program
    .command('apps:set')
    .description("change an app's setting; build-dir: the app's directory in a monorepo, used from the next push; watch-seconds: how long a new release is watched for an automatic rollback (0: never)")
    .argument('<setting>', 'build-dir or watch-seconds')
    .argument('[value]', 'the directory, relative to the repository root (empty: the root); or seconds')
    .option('--unset', "back to the default (build-dir: the repository root; watch-seconds: the server's PILOT_WATCH_SECONDS)")
    .addOption(appOption())
    .addHelpText('after', '\nExamples:\n  $ pilot apps:set build-dir apps/web -a shop\n  $ pilot apps:set build-dir --unset -a shop\n  $ pilot apps:set watch-seconds 120 -a shop')
    .action(async (setting: string, value: string | undefined, options: { unset?: boolean }, command: Command) => {
      const { out, client } = context(command);
      if (setting !== 'build-dir' && setting !== 'watch-seconds') throw new CliError(`unknown app setting "${setting}": the settings are build-dir, watch-seconds`);
      if (value === undefined && !options.unset) throw new CliError(`give the value (pilot apps:set ${setting} ${setting === 'build-dir' ? 'apps/web' : '60'}) or --unset`);
      if (setting === 'watch-seconds') {
        const watchSeconds = options.unset ? null : Number(value);
        if (watchSeconds !== null && (!Number.isInteger(watchSeconds) || watchSeconds < 0)) throw new CliError(`"${value}" is not a whole number of seconds (0 turns automatic rollback off)`);
        const app = await client().patch<AppStatus>(appPath(appOf(command)), { watchSeconds });
        out.result(app, () => `${app.name} watches each new release for ${app.watchSeconds === null ? "the server's default (PILOT_WATCH_SECONDS)" : `${app.watchSeconds} s`}`);
        return;
      }
      const buildDir = options.unset || value === '' ? null : (value as string);
      const app = await client().patch<AppStatus>(appPath(appOf(command)), { buildDir });
      out.result(app, () => `${app.name} builds from ${app.buildDir ? `${app.buildDir}/` : 'the repository root'} from the next push`);
    });

  program
    .command('apps:rename')
    .description("rename an app: it restarts under the new name (blue/green), its URL and git remote follow; config, releases, domains, tokens, volumes, links and cron stay")
    .argument('<names...>', 'OLD NEW, or NEW with -a OLD (as heroku apps:rename NEW --app OLD)')
    .addOption(appOption())
    .addHelpText('after', '\nExamples:\n  $ pilot apps:rename shop store\n  $ pilot apps:rename store -a shop')
    .action(async (names: string[], _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const { from, to } = renameArguments(names, command.opts<{ app?: string }>().app);
      const api = client();
      const oldName = from ?? appOf(command);
      const app = await api.post<AppStatus>(`${appPath(oldName)}/rename`, { name: to });
      const gitUrl = `${api.url}/${app.name}.git`;
      const updated = followRenamedRemote(`${api.url}/${oldName}.git`, gitUrl);
      out.result({ ...app, renamedFrom: oldName, gitUrl, updatedRemote: updated ?? null }, () =>
        [
          `Renamed ${oldName} to ${app.name}: ${app.url}`,
          `Git remote: ${gitUrl}`,
          updated ? `Updated this repository's remote ${updated} to it` : `Point your checkout's remote at it: pilot git:remote -a ${app.name}`,
        ].join('\n'),
      );
    });

  program
    .command('apps:destroy')
    .description('destroy an app: its containers, images, repository, routes and records')
    .addOption(appOption())
    .option('--confirm <name>', 'the app name again, to skip the question')
    .option('--volumes', "also remove the app's volumes and the files on them (kept otherwise)")
    .addHelpText('after', '\nExample:\n  $ pilot apps:destroy -a shop --confirm shop')
    .action(async (options: { confirm?: string; volumes?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const app = appOf(command);
      const confirm =
        options.confirm ??
        (await ask(`This destroys ${app} and cannot be undone. Type its name to confirm: `, `not destroyed: confirm with --confirm ${app} (there is no terminal to ask on)`));
      if (confirm.trim() !== app) throw new CliError(`not destroyed: "${confirm.trim()}" is not "${app}"`);
      const query = `?confirm=${encodeURIComponent(app)}${options.volumes ? '&volumes=true' : ''}`;
      const result = await client().delete<{ destroyed: string; containers: number; images: number; volumes: number }>(`${appPath(app)}${query}`);
      out.result(result, () =>
        `Destroyed ${result.destroyed} (${result.containers} containers, ${result.images} images, ${result.volumes} volumes${options.volumes ? '' : '; volumes are kept without --volumes'})`,
      );
    });
}

/**
 * What `apps:rename` renames: `OLD NEW`, or `NEW` with `-a OLD` (Heroku's form), or `NEW` alone
 * (the app of the git remote: from undefined).
 */
export function renameArguments(names: readonly string[], app: string | undefined): { from: string | undefined; to: string } {
  const [first, second, ...rest] = names;
  if (first === undefined || rest.length > 0) throw new CliError('give the new name (pilot apps:rename NEW -a OLD) or both (pilot apps:rename OLD NEW)');
  if (second === undefined) return { from: app, to: first };
  if (app !== undefined && app !== first) throw new CliError(`two apps given (${first} and -a ${app}): give OLD NEW, or NEW -a OLD`);
  return { from: first, to: second };
}

/** The remote of the current repository that pointed at the old name, now at the new one; undefined when none did. */
function followRenamedRemote(oldUrl: string, newUrl: string): string | undefined {
  const git = (...args: string[]): string => execFileSync('git', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  try {
    const remote = git('remote').split('\n').find((name) => name !== '' && git('remote', 'get-url', name) === oldUrl);
    if (remote === undefined) return undefined;
    git('remote', 'set-url', remote, newUrl);
    return remote;
  } catch {
    // Not in a git repository (or no git): the output says how to update the remote.
    return undefined;
  }
}

/** The platform's opener; the URL is printed already, so one that is missing or fails changes nothing. */
export function browserCommand(platform: NodeJS.Platform, url: string): [string, string[]] {
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  return ['xdg-open', [url]];
}

function openInBrowser(url: string): void {
  const [program, args] = browserCommand(process.platform, url);
  spawn(program, args, { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
}

function appRow(app: AppStatus): Record<string, unknown> {
  return { name: app.name, release: app.release ? `v${app.release.version}` : null, state: app.deploying ? 'deploying' : app.state, url: app.url };
}
