import type { Command } from 'commander';
import { appPath } from '../client.js';
import { context, positiveInteger } from '../context.js';
import { followSocket } from '../logs.js';
import type { EventView, WebhookView } from '../../domain/shapes.js';

/** `pilot events [-a APP] [-f]`: what happened, one timeline per app and one for the server. */
export function registerEventCommands(program: Command): void {
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
}

/** `pilot webhooks`, `webhooks:add`, `webhooks:remove`: where events are sent. */
export function registerWebhookCommands(program: Command): void {
  const webhooksPath = (app: string | undefined, rest = '') => (app ? appPath(app, `/webhooks${rest}`) : `/webhooks${rest}`);
  program
    .command('webhooks')
    .description("list the webhooks: server-wide ones (every app's events and the server's), or an app's with -a")
    .option('-a, --app <name>', "this app's webhooks")
    .addHelpText('after', '\nExample:\n  $ pilot webhooks -a shop')
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
    .addHelpText('after', '\nExample:\n  $ pilot webhooks:remove 3')
    .action(async (id: string, options: { app?: string }, command: Command) => {
      const { out, client } = context(command);
      const result = await client().delete<{ removed: number }>(webhooksPath(options.app, `/${encodeURIComponent(id)}`));
      out.result(result, () => `Removed webhook ${result.removed}`);
    });
}
