import fs from 'node:fs';
import type { Command } from 'commander';
import { appPath, type ApiClient } from '../client.js';
import { appOf, appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import type { RepoSourceView, RepoWebhookView, SetRepoBody } from '../views.js';
import { postDeploy } from './deploy.js';

/** The options that give a repository's branch and credential (apps:create --repo, apps:repo:set). */
export interface RepoOptions {
  readonly branch?: string;
  readonly credentialStdin?: boolean;
  /** commander's --no-credential: false when given. */
  readonly credential?: boolean;
}

/** `apps:repo`, `apps:repo:set`, `apps:repo:remove`, `git:sync`, `git:webhook`: apps deployed from a repository URL. */
export function registerRepoCommands(program: Command): void {
  program
    .command('apps:repo')
    .description("show the repository the app deploys from: URL, branch, whether a credential is set, the last fetched commit, its push webhook")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot apps:repo -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      const source = await api.get<RepoSourceView>(appPath(appOf(command), '/repo'));
      out.result(source, () => repoLines(api, source).join('\n'));
    });

  program
    .command('apps:repo:set')
    .description('deploy the app from a repository URL (https): `pilot git:sync` or its push webhook then fetches the branch and deploys its head')
    .argument('<url>', "the repository's https:// clone URL, without credentials")
    .option('-b, --branch <branch>', 'the branch that deploys', 'main')
    .option('--credential-stdin', 'read a token (or user:token) for a private repository from stdin; kept as a secret, never shown')
    .option('--no-credential', 'remove the credential set before')
    .addOption(appOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ pilot apps:repo:set https://github.com/acme/shop.git -a shop\n' +
        '  $ printf %s "$GITHUB_TOKEN" | pilot apps:repo:set https://github.com/acme/private.git --branch production --credential-stdin -a shop\n' +
        '\nWithout --credential-stdin or --no-credential the credential set before is kept (for the same host).',
    )
    .action(async (url: string, options: RepoOptions, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      const source = await api.put<RepoSourceView>(appPath(appOf(command), '/repo'), repoBody(url, options));
      out.result(source, () => [`${appOf(command)} deploys ${source.branch} of ${source.url}: deploy it now with \`pilot git:sync -a ${appOf(command)}\``, ...repoLines(api, source).slice(1)].join('\n'));
    });

  program
    .command('apps:repo:remove')
    .description('stop deploying from the repository URL (its credential and webhook secret go too); the live release keeps serving')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot apps:repo:remove -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ removed: string }>(appPath(appOf(command), '/repo'));
      out.result(result, () => `${result.removed} no longer deploys from a repository URL; its push webhook answers 401 from now on`);
    });

  program
    .command('git:sync')
    .description("fetch the app's repository branch and deploy its head, through the same build and rollout as a push (streams the output)")
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot git:sync -a shop\n\nThe repository is set with `pilot apps:create NAME --repo URL` or `pilot apps:repo:set URL`.')
    .action(async (_options: unknown, command: Command) => {
      const app = appOf(command);
      if (!(await sync(context(command).client(), app))) throw new CliError(`${app} was not deployed (the lines above say why)`);
    });

  program
    .command('git:webhook')
    .description("show the app's push webhook (URL and secret) and how to add it to GitHub, GitLab, Gitea or Forgejo; --rotate makes a new secret")
    .addOption(appOption())
    .option('--rotate', 'a new secret: the old one is refused from now on')
    .addHelpText('after', '\nExamples:\n  $ pilot git:webhook -a shop\n  $ pilot git:webhook --rotate -a shop')
    .action(async (options: { rotate?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const api = client();
      const path = appPath(appOf(command), '/repo/webhook');
      const hook = options.rotate ? await api.post<RepoWebhookView>(path) : await api.get<RepoWebhookView>(path);
      const url = `${api.url}${hook.webhookPath}`;
      out.result({ url, secret: hook.secret }, () =>
        [
          `Webhook URL: ${url}`,
          `Secret:      ${hook.secret}${options.rotate ? ' (new: update it on the git host)' : ''}`,
          '',
          'GitHub:        Settings > Webhooks > Add webhook: Payload URL above, Content type application/json, Secret above, "Just the push event"',
          'GitLab:        Settings > Webhooks: URL above, Secret token above, Trigger "Push events"',
          'Gitea/Forgejo: Settings > Webhooks > Add webhook > Gitea (or Forgejo): Target URL above, POST, application/json, Secret above, "Push events"',
          'Anything else: POST {"ref": "refs/heads/BRANCH"} with X-Pilot-Signature-256: sha256=<hex HMAC-SHA256 of the body with the secret>',
        ].join('\n'),
      );
    });
}

/** The body of PUT .../repo from the command's options (the credential read from stdin). */
export function repoBody(url: string, options: RepoOptions): SetRepoBody {
  if (options.credentialStdin && options.credential === false) throw new CliError('give --credential-stdin or --no-credential, not both');
  const body: { url: string; branch?: string; credential?: string | null } = { url };
  if (options.branch !== undefined) body.branch = options.branch;
  if (options.credential === false) body.credential = null;
  if (options.credentialStdin) {
    const credential = fs.readFileSync(0, 'utf8').trim();
    if (credential === '') throw new CliError('--credential-stdin read nothing: pipe the token in (printf %s "$TOKEN" | pilot ...)');
    body.credential = credential;
  }
  return body;
}

/** POST .../repo/sync, its output printed as it streams; resolves whether it went live. */
export function sync(client: ApiClient, app: string): Promise<boolean> {
  return postDeploy(client, appPath(app, '/repo/sync'));
}

/** The source as apps:info and apps:repo show it. */
export function repoLines(client: ApiClient, source: RepoSourceView): string[] {
  const fetched = source.lastSha ? `${source.lastSha.slice(0, 7)} (${source.lastFetchedAt ?? '?'})` : 'not yet';
  return [
    `Repo:      ${source.url}`,
    `Branch:    ${source.branch}${source.credential ? ' (with a credential)' : ''}`,
    `Fetched:   ${fetched}${source.lastError ? `; last fetch failed: ${source.lastError}` : ''}`,
    `Webhook:   ${client.url}${source.webhookPath} (secret: pilot git:webhook)`,
  ];
}
