import { Command, Option } from 'commander';
import readline from 'node:readline/promises';
import { execFileSync } from 'node:child_process';
import { ApiClient, appPath } from './client.js';
import { CliError } from './errors.js';
import { createOutput, type Output } from './output.js';
import { loadCredentials, normalizeUrl, resolveApp, saveCredentials } from './settings.js';
import { followLogs, followSocket, type LogLine } from './logs.js';
import { runCommand } from './run.js';
import { registerCronCommands } from './cron.js';
import { configLines, configSetBody, configSetSummary, nextBuildLines, type ConfigView } from './config-vars.js';
import type { AppStatus, EventView, LimitsView, WebhookView, ProcessView, ReleaseView, VolumeView } from '../domain/shapes.js';

interface GlobalOptions {
  json?: boolean;
}

/** Adds the commands to the program; `io` carries what the commands print with. */
export function registerCommands(program: Command): void {
  const context = (command: Command): { out: Output; client: () => ApiClient } => {
    const options = command.optsWithGlobals<GlobalOptions>();
    return { out: createOutput({ json: options.json === true }), client: () => new ApiClient(loadCredentials()) };
  };
  const appOption = (): Option => new Option('-a, --app <name>', 'the app (default: from the `pilot` git remote)');
  const appOf = (command: Command): string => resolveApp(command.opts<{ app?: string }>().app);

  program
    .command('login')
    .description('store the server URL and a token (mode 0600) for the next commands')
    .argument('<url>', 'the server, e.g. https://pilot.example.com')
    .option('--token <token>', 'the token (default: asked, or read from stdin, or PILOT_TOKEN)')
    .addHelpText('after', '\nExample:\n  $ pilot login https://pilot.example.com')
    .action(async (url: string, options: { token?: string }, command: Command) => {
      const { out } = context(command);
      const token = options.token ?? process.env.PILOT_TOKEN ?? (await ask('Token: '));
      const credentials = { url: normalizeUrl(url), token: token.trim() };
      const who = await new ApiClient(credentials).get<{ scope: string; app: string | null }>('/whoami');
      const file = saveCredentials(credentials);
      out.result({ url: credentials.url, ...who, file }, () => `Logged in to ${credentials.url} with ${who.scope === 'admin' ? 'an admin token' : `a deploy token for ${who.app}`} (saved in ${file})`);
    });

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
    .description('create an app (pushing to a new name does it too)')
    .argument('<name>', 'lowercase letters, digits and dashes')
    .addHelpText('after', '\nExample:\n  $ pilot apps:create shop')
    .action(async (name: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const app = await client().post<AppStatus>('/apps', { name });
      out.result(app, () => `Created ${app.name}: push to ${client().url}/${app.name}.git, then visit ${app.url}`);
    });

  program
    .command('apps:info')
    .description("show an app's release, state, URL and domains")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot apps:info -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const app = await client().get<AppStatus>(appPath(appOf(command)));
      out.result(app, () =>
        [
          out.bold(`=== ${app.name}`),
          `URL:       ${app.url}`,
          `Domains:   ${app.domains.join(', ') || '-'}`,
          `Release:   ${app.release ? `v${app.release.version} (${app.release.kind}${app.release.gitSha ? ` ${app.release.gitSha.slice(0, 7)}` : ''})` : 'none yet: git push to deploy'}`,
          `State:     ${app.state ?? '-'}${app.deploying ? ' (deploying)' : ''}`,
          `Build dir: ${app.buildDir ?? '- (the repository root)'}`,
          `Watch:     ${app.watchSeconds === null ? "the server's default" : app.watchSeconds === 0 ? 'off' : `${app.watchSeconds} s`} (automatic rollback of a new release)`,
          `Created:   ${app.createdAt}`,
        ].join('\n'),
      );
    });

  program
    .command('apps:set')
    .description("change an app's setting; build-dir: the app's directory in a monorepo, used from the next push; watch-seconds: how long a new release is watched for an automatic rollback (0: never)")
    .argument('<setting>', 'build-dir or watch-seconds')
    .argument('[value]', 'the directory, relative to the repository root (empty: the root); or seconds')
    .option('--unset', 'back to the default (build-dir: the repository root; watch-seconds: the server\'s PILOT_WATCH_SECONDS)')
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
    .command('apps:destroy')
    .description('destroy an app: its containers, images, repository, routes and records')
    .addOption(appOption())
    .option('--confirm <name>', 'the app name again, to skip the question')
    .option('--volumes', "also remove the app's volumes and the files on them (kept otherwise)")
    .addHelpText('after', '\nExample:\n  $ pilot apps:destroy -a shop --confirm shop')
    .action(async (options: { confirm?: string; volumes?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const app = appOf(command);
      const confirm = options.confirm ?? (await ask(`This destroys ${app} and cannot be undone. Type its name to confirm: `));
      if (confirm.trim() !== app) throw new CliError(`not destroyed: "${confirm.trim()}" is not "${app}"`);
      const query = `?confirm=${encodeURIComponent(app)}${options.volumes ? '&volumes=true' : ''}`;
      const result = await client().delete<{ destroyed: string; containers: number; images: number; volumes: number }>(`${appPath(app)}${query}`);
      out.result(result, () =>
        `Destroyed ${result.destroyed} (${result.containers} containers, ${result.images} images, ${result.volumes} volumes${options.volumes ? '' : '; volumes are kept without --volumes'})`,
      );
    });

  registerConfigCommands(program, context, appOption, appOf);
  registerReleaseCommands(program, context, appOption, appOf);
  registerRuntimeCommands(program, context, appOption, appOf);
  registerTokenCommands(program, context);
  registerStorageCommands(program, context, appOption, appOf);
  registerCronCommands(program, context, appOption, appOf);
}

function registerStorageCommands(program: Command, context: Context, appOption: () => Option, appOf: (command: Command) => string): void {
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

  program
    .command('storage:mount')
    .description('mount a persistent volume at a path in every container of the app (survives deploys, restarts, rollbacks)')
    .argument('<path>', 'absolute path inside the container, e.g. /app/uploads')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot storage:mount /app/uploads -a shop')
    .action(async (mountPath: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().post<{ volume: VolumeView; release: { version: number } | null }>(appPath(appOf(command), '/storage'), { path: mountPath });
      out.result(result, () => `Mounted ${result.volume.name} at ${result.volume.path}${result.release ? ` (released v${result.release.version})` : ' (from the first deploy)'}`);
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

export type Context = (command: Command) => { out: Output; client: () => ApiClient };

function registerConfigCommands(program: Command, context: Context, appOption: () => Option, appOf: (command: Command) => string): void {
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

  program
    .command('domains')
    .description("list an app's custom domains")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot domains -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().get<{ domains: string[] }>(appPath(appOf(command), '/domains'));
      out.result(result, () => result.domains.join('\n') || '(no custom domains)');
    });

  for (const [name, verb] of [['domains:add', 'add'], ['domains:remove', 'remove']] as const) {
    program
      .command(name)
      .description(verb === 'add' ? 'serve the app at a domain of yours too (point its DNS at the server)' : 'stop serving the app at a domain')
      .argument('<domain>')
      .addOption(appOption())
      .addHelpText('after', `\nExample:\n  $ pilot ${name} www.example.com -a shop`)
      .action(async (domain: string, _options: unknown, command: Command) => {
        const { out, client } = context(command);
        const app = appOf(command);
        const result = verb === 'add'
          ? await client().post<{ domains: string[] }>(appPath(app, '/domains'), { domain })
          : await client().delete<{ domains: string[] }>(appPath(app, `/domains/${encodeURIComponent(domain)}`));
        out.result(result, () => `${verb === 'add' ? 'Added' : 'Removed'} ${domain}; ${app} now answers at: ${result.domains.join(', ') || 'its own name only'}`);
      });
  }
}

function registerReleaseCommands(program: Command, context: Context, appOption: () => Option, appOf: (command: Command) => string): void {
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
            kind: release.kind,
            status: release.status,
            commit: release.gitSha?.slice(0, 7),
            created: release.createdAt,
            reason: release.failureReason,
          })),
          ['version', 'kind', 'status', 'commit', 'created', 'reason'],
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
          `Commit:   ${release.gitSha ?? '-'}`,
          `Image:    ${release.image ?? '-'}`,
          `Config:   ${release.configKeys.join(', ') || '-'}`,
          `Build:    ${release.buildKeys.join(', ') || '-'}`,
          `Created:  ${release.createdAt}`,
          ...(release.failureReason ? [`Failed:   ${release.failureReason}`] : []),
          '',
          release.log ?? '',
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
      out.result(release, () => `Rolled back: v${release.version} serves the image and config of ${version ?? 'the previous release'}`);
    });
}

function registerRuntimeCommands(program: Command, context: Context, appOption: () => Option, appOf: (command: Command) => string): void {
  const showProcesses = (out: Output, processes: ProcessView[]): string =>
    out.table(
      processes.map((process) => ({
        ...process,
        process: process.index === null ? process.type : `${process.type}.${process.index}`,
        release: `v${process.release}`,
        uptime: process.uptimeSeconds === null ? null : duration(process.uptimeSeconds),
      })),
      ['process', 'release', 'state', 'health', 'uptime', 'restarts', 'container'],
    );

  program
    .command('ps')
    .description("show the app's containers: state, health, release, uptime, restarts (and the process types scaled to 0)")
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

  program
    .command('run')
    .description("run a command in a new container of the live release, with the app's config and volumes")
    .argument('<command...>', 'the command and its arguments, after --')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot run -a shop -- node scripts/migrate.js --dry-run')
    .action(async (words: string[], _options: unknown, command: Command) => {
      const { client } = context(command);
      process.exitCode = await runCommand(client(), appOf(command), words);
    });

  program
    .command('logs')
    .description("print the app's log; -f keeps following it (and resumes after a dropped connection)")
    .addOption(appOption())
    .option('-n, --num <lines>', 'how many recent lines', (value) => positiveInteger(value), 100)
    .option('-f, --follow', 'keep printing new lines')
    .addHelpText('after', '\nExample:\n  $ pilot logs -f -n 20 -a shop')
    .action(async (options: { num: number; follow?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const app = appOf(command);
      const print = (line: LogLine): void => out.print(out.json ? JSON.stringify(line) : `${out.dim(line.time)} ${line.text}`);
      if (!options.follow) {
        const { lines } = await client().get<{ lines: LogLine[] }>(appPath(app, `/logs?lines=${options.num}`));
        lines.forEach(print);
        return;
      }
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followLogs(client(), app, options.num, print, stop.signal);
    });

  program
    .command('events')
    .description("print what happened: deploys, config changes, rollbacks, scale, crashes, health; every app's and the server's without -a (admin)")
    .option('-a, --app <name>', 'only this app')
    .option('-n, --num <events>', 'how many recent events', (value) => positiveInteger(value), 50)
    .option('-f, --follow', 'keep printing new events (and resume after a dropped connection)')
    .addHelpText('after', '\nExamples:\n  $ pilot events -a shop\n  $ pilot events -f')
    .action(async (options: { app?: string; num: number; follow?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const base = options.app ? appPath(options.app, '/events') : '/events';
      const print = (event: EventView): void =>
        out.print(out.json ? JSON.stringify(event) : `${out.dim(event.createdAt)} ${event.app ?? '(server)'} ${event.kind}: ${event.message}`);
      const recent = await client().get<EventView[]>(`${base}?limit=${Math.min(options.num, 1000)}`);
      recent.forEach(print);
      if (!options.follow) return;
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const start = String(recent.at(-1)?.id ?? (await client().get<EventView[]>(`${base}?limit=1`)).at(-1)?.id ?? 0);
      await followSocket<EventView>(client(), (after) => `${base}/stream?after=${after ?? start}`, (event) => String(event.id), print, stop.signal);
    });

  const webhooksPath = (app: string | undefined, rest = '') => (app ? appPath(app, `/webhooks${rest}`) : `/webhooks${rest}`);
  program
    .command('webhooks')
    .description('list the webhooks: server-wide ones (every app\'s events and the server\'s), or an app\'s with -a')
    .option('-a, --app <name>', "this app's webhooks")
    .action(async (options: { app?: string }, command: Command) => {
      const { out, client } = context(command);
      const webhooks = await client().get<WebhookView[]>(webhooksPath(options.app));
      out.result(webhooks, () => out.table(webhooks.map((webhook) => ({ ...webhook, events: webhook.events.join(',') || '(all)' })), ['id', 'url', 'events', 'createdAt']));
    });

  program
    .command('webhooks:add')
    .description('send events as JSON (with a Slack-compatible `text`, signed in X-Pilot-Signature-256) to a URL')
    .argument('<url>', 'the receiver, e.g. a Slack incoming webhook URL')
    .option('-a, --app <name>', "only this app's events (default: every app's and the server's)")
    .option('--events <kinds>', 'comma-separated event kinds, e.g. deploy.failed,process.crash-loop (default: all)')
    .option('--secret <secret>', 'the signing key (default: a random one, printed once)')
    .addHelpText('after', '\nExample:\n  $ pilot webhooks:add https://hooks.slack.com/services/T0/B0/X --events deploy.failed,rollback -a shop')
    .action(async (url: string, options: { app?: string; events?: string; secret?: string }, command: Command) => {
      const { out, client } = context(command);
      const body = { url, ...(options.events ? { events: options.events.split(',').map((kind) => kind.trim()).filter(Boolean) } : {}), ...(options.secret ? { secret: options.secret } : {}) };
      const webhook = await client().post<WebhookView & { secret: string }>(webhooksPath(options.app), body);
      out.result(webhook, () => `Added webhook ${webhook.id} for ${webhook.app ?? 'the whole server'} (${webhook.events.join(', ') || 'every event'})\nSigning secret (shown once): ${webhook.secret}`);
    });

  program
    .command('webhooks:remove')
    .description('remove a webhook')
    .argument('<id>', 'its id (see `pilot webhooks`)')
    .option('-a, --app <name>', "an app's webhook")
    .action(async (id: string, options: { app?: string }, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ removed: number }>(webhooksPath(options.app, `/${encodeURIComponent(id)}`));
      out.result(result, () => `Removed webhook ${result.removed}`);
    });

  program
    .command('git:remote')
    .description('add the `pilot` git remote for this repository; the token goes in an http header setting, not in the URL')
    .addOption(appOption())
    .option('-r, --remote <name>', 'the remote name', 'pilot')
    .addHelpText('after', '\nExample:\n  $ pilot git:remote -a shop && git push pilot main')
    .action((options: { remote: string; app?: string }, command: Command) => {
      const { out, client } = context(command);
      const app = options.app ?? resolveApp(undefined);
      const api = client();
      const url = `${api.url}/${app}.git`;
      const git = (...args: string[]): string => execFileSync('git', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
      try {
        git('rev-parse', '--git-dir');
      } catch {
        throw new CliError('not in a git repository: run `git init` first');
      }
      const existing = (() => {
        try {
          return git('remote', 'get-url', options.remote);
        } catch {
          return undefined;
        }
      })();
      if (existing === undefined) git('remote', 'add', options.remote, url);
      else git('remote', 'set-url', options.remote, url);
      const basic = Buffer.from(`pilot:${api.token}`).toString('base64');
      git('config', '--local', '--replace-all', `http.${url}.extraHeader`, `Authorization: Basic ${basic}`);
      out.result({ remote: options.remote, url }, () => `Remote ${options.remote} -> ${url}\nDeploy with: git push ${options.remote} main`);
    });
}

function registerTokenCommands(program: Command, context: Context): void {
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
    .description('revoke the one token with this exact id, name or listed prefix (pilot_xxxxxx); refused when it names several')
    .argument('<token>')
    .addHelpText('after', '\nExample:\n  $ pilot tokens:revoke ci')
    .action(async (token: string, _options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ revoked: { id: number; name: string; prefix: string }[] }>(`/tokens/${encodeURIComponent(token)}`);
      out.result(result, () => `Revoked ${result.revoked.map((revoked) => `token ${revoked.id} "${revoked.name}" (${revoked.prefix}…)`).join(', ')}`);
    });
}

function showLimits(limits: LimitsView): string {
  const mark = (custom: boolean) => (custom ? '' : ' (default)');
  return `Memory: ${Math.round(limits.memoryBytes / 2 ** 20)}m${mark(limits.custom.memory)}\nCPUs:   ${limits.cpus}${mark(limits.custom.cpus)}`;
}

function appRow(app: AppStatus): Record<string, unknown> {
  return { name: app.name, release: app.release ? `v${app.release.version}` : null, state: app.deploying ? 'deploying' : app.state, url: app.url };
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliError(`${value} is not a positive whole number`);
  return number;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

/** Reads one answer: from the terminal with a prompt, else one line of stdin. */
async function ask(question: string): Promise<string> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    return await prompt.question(process.stdin.isTTY ? question : '');
  } finally {
    prompt.close();
  }
}
