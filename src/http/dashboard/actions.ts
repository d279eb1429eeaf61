import { parseEnv } from 'node:util';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Compile } from 'typebox/compile';
import { PilotError, ValidationError } from '../../domain/errors.js';
import { tokenAuthor } from '../../domain/release-authors.js';
import type { ReleaseAuthor } from '../../domain/types.js';
import { LimitsBody, ScaleBody, type ConfigView } from '../../domain/shapes.js';
import type { ProcessAction } from '../../services/processes.js';
import { parseConfigChange } from '../../services/config-vars.js';
import { addDomain, removeDomain } from '../api/apps.js';
import { changeConfig, findRelease, rollBack } from '../api/releases.js';
import { revokeToken } from '../api/tokens.js';
import { validationError } from '../errors.js';
import type { DashboardContext } from './index.js';
import { renderPage, setFlash } from './render.js';
import { volumePlacementNote } from '../../domain/volume-placement.js';

type Form = Record<string, string | undefined>;
type AppRequest = FastifyRequest<{ Params: { app: string }; Body: Form }>;

const scaleBody = Compile(ScaleBody);
const limitsBody = Compile(LimitsBody);
const PROCESS_ACTIONS: readonly ProcessAction[] = ['restart', 'stop', 'start'];

/**
 * The dashboard's forms. Each calls what the API's route calls (the same service, or the same
 * function the route is), then goes back to its page with what happened; all admin-only, as on the API.
 */
export const actionRoutes: FastifyPluginAsync<{ context: DashboardContext }> = async (app, { context }) => {
  const api = context.deps.api;
  const appOf = (request: AppRequest) => api.apps.get(request.params.app);
  // A dashboard form's release is by the token its session signed in with.
  const authorOf = (request: FastifyRequest): ReleaseAuthor => tokenAuthor(request.signedIn!.principal);
  const pageOf = (request: AppRequest, section = '') => `/apps/${encodeURIComponent(request.params.app)}${section}`;

  app.post<{ Params: { app: string; action: string }; Body: Form }>('/apps/:app/ps/:action', async (request, reply) => {
    const action = request.params.action as ProcessAction;
    return act(request, reply, pageOf(request, '#processes'), async () => {
      if (!PROCESS_ACTIONS.includes(action)) throw new ValidationError(`${request.params.action} is not restart, stop or start`);
      const type = request.body?.type || undefined;
      await api.processes.act(appOf(request), action, type === undefined ? undefined : [type]);
      return `${type ?? 'every process'}: ${action} done`;
    });
  });

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/scale', async (request, reply) =>
    act(request, reply, pageOf(request, '#processes'), async () => {
      const type = request.body?.type ?? '';
      const body = { [type]: Number(request.body?.quantity ?? '') };
      if (!scaleBody.Check(body)) throw validationError(scaleBody.Errors(body), 'body');
      await api.processes.scale(appOf(request), body);
      return `${type} scaled to ${body[type]}`;
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/limits', async (request, reply) =>
    act(request, reply, pageOf(request, '#limits'), async () => {
      const memory = request.body?.memory?.trim();
      const cpus = request.body?.cpus?.trim();
      const body = { memory: memory === '' || memory === 'default' ? null : memory, cpus: cpus === '' || cpus === 'default' ? null : Number(cpus) };
      if (!limitsBody.Check(body)) throw validationError(limitsBody.Errors(body), 'body');
      const result = await api.limits.set(appOf(request), body, authorOf(request));
      return result.release ? `limits set: v${result.release.version} is live with them` : 'limits set: the next release starts with them';
    }),
  );

  // A rollback asks first, on its own page: one click shows what will happen, the second does it.
  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/rollback', async (request, reply) => {
    const found = appOf(request);
    const target = findRelease(api, found, request.body?.version ?? '');
    if (request.body?.confirm !== 'yes') {
      return renderPage(context, request, reply, 'confirm', {
        title: `Roll back ${found.name}`,
        question: `Roll ${found.name} back to v${target.version}? Its image and config start again as a new release (no rebuild); the live release stops once it drained.`,
        action: `/apps/${encodeURIComponent(found.name)}/rollback`,
        fields: [{ name: 'version', value: String(target.version) }, { name: 'confirm', value: 'yes' }],
        submit: `Roll back to v${target.version}`,
        back: pageOf(request, '#releases'),
      });
    }
    return act(request, reply, pageOf(request, '#releases'), async () => {
      const release = await rollBack(api, found, target.version, authorOf(request));
      return `rolled back: v${release.version} (v${target.version}'s image and config) is live`;
    });
  });

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/config', async (request, reply) =>
    act(request, reply, pageOf(request, '#config'), async () => {
      const set = configFromForm(request.body ?? {});
      const change = parseConfigChange({ set });
      return releaseOutcome(await changeConfig(api, appOf(request), change, authorOf(request)), `set ${Object.keys(set).join(', ')}`);
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/config/unset', async (request, reply) =>
    act(request, reply, pageOf(request, '#config'), async () => {
      const change = parseConfigChange({ unset: [request.body?.key ?? ''] });
      return releaseOutcome(await changeConfig(api, appOf(request), change, authorOf(request)), `unset ${request.body?.key ?? ''}`);
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/domains', async (request, reply) =>
    act(request, reply, pageOf(request, '#domains'), async () => {
      await addDomain(api, appOf(request), request.body?.domain ?? '');
      return `${request.body?.domain ?? ''} added: its certificate comes at its first HTTPS visit`;
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/domains/remove', async (request, reply) =>
    act(request, reply, pageOf(request, '#domains'), async () => {
      await removeDomain(api, appOf(request), request.body?.domain ?? '');
      return `${request.body?.domain ?? ''} removed`;
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/storage', async (request, reply) =>
    act(request, reply, pageOf(request, '#storage'), async () => {
      const result = await api.storage.mount(appOf(request), request.body?.path ?? '', authorOf(request));
      const mounted = `volume mounted at ${result.volume.path}${result.release ? `: v${result.release.version} is live with it` : ''}`;
      return result.node === undefined ? mounted : `${mounted}. ${volumePlacementNote(result.node)}`;
    }),
  );

  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/storage/remove', async (request, reply) =>
    act(request, reply, pageOf(request, '#storage'), async () => {
      const result = await api.storage.unmount(appOf(request), request.body?.path ?? '', authorOf(request));
      return `volume at ${result.volume.path} unmounted (its files are kept)${result.release ? `: v${result.release.version} is live without it` : ''}`;
    }),
  );

  // A new token's secret is shown once, on its own page, never in a redirect or a cookie.
  app.post<{ Params: { app: string }; Body: Form }>('/apps/:app/tokens', async (request, reply) => {
    const created = api.tokens.create({ name: request.body?.name ?? '', app: appOf(request).name });
    return renderPage(context, request, reply, 'token-created', { title: 'Deploy token created', token: created.token, name: created.name, app: created.appName, back: pageOf(request, '#tokens') });
  });

  app.post<{ Body: Form }>('/tokens', async (request, reply) => {
    const created = api.tokens.create({ name: request.body?.name ?? '' });
    return renderPage(context, request, reply, 'token-created', { title: 'Admin token created', token: created.token, name: created.name, back: '/server#tokens' });
  });

  app.post<{ Params: { token: string }; Body: Form }>('/tokens/:token/revoke', async (request, reply) =>
    act(request, reply, request.body?.back === 'app' && request.body.app ? `/apps/${encodeURIComponent(request.body.app)}#tokens` : '/server#tokens', async () => {
      const revoked = revokeToken(api, request.params.token);
      return `token ${revoked.name} revoked: its sessions and streams ended`;
    }),
  );
};

/** How long a form waits for its change before it goes back to the page, which then shows the rest live. */
const QUICK_ANSWER_MS = 3000;

/**
 * Runs a form's change and goes back to its page with the outcome, or with what was refused and
 * why. A rollout that takes longer goes on without holding the browser's request (a reload of
 * Caddy's routes, which the rollout itself makes, could cut it): the page follows it live.
 */
async function act(request: FastifyRequest, reply: FastifyReply, back: string, run: () => Promise<string>): Promise<FastifyReply> {
  const outcome = run().then((text) => ({ text }), (error: unknown) => ({ error }));
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([outcome, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), QUICK_ANSWER_MS)))]);
  clearTimeout(timer);
  if (settled === undefined) {
    void outcome.then((late) => {
      if ('error' in late) request.log.warn({ err: late.error }, 'a change made from the dashboard failed');
    });
    setFlash(request, reply, { kind: 'notice', text: 'under way: the releases and processes below show it as it goes' });
  } else if ('error' in settled) {
    const error = settled.error;
    // Refusals of access stay refusals; a change that failed is told on its page.
    if (!(error instanceof PilotError) || error.statusCode === 401 || error.statusCode === 403) throw error;
    setFlash(request, reply, { kind: 'error', text: error.message });
  } else {
    setFlash(request, reply, { kind: 'notice', text: settled.text });
  }
  return reply.redirect(back, 303);
}

/** One KEY and value, or `.env` text pasted (several lines, parsed as Node parses .env files). */
export function configFromForm(form: Form): Record<string, string> {
  const pasted = form.env?.trim();
  if (pasted) {
    const vars = Object.fromEntries(Object.entries(parseEnv(pasted)).map(([key, value]) => [key, value ?? '']));
    if (Object.keys(vars).length === 0) throw new ValidationError('no KEY=value line in the pasted text');
    return vars;
  }
  const key = form.key?.trim() ?? '';
  if (key === '') throw new ValidationError('give a KEY (or paste .env lines)');
  return { [key]: form.value ?? '' };
}

function releaseOutcome(view: ConfigView, what: string): string {
  if (view.release) return `${what}: v${view.release.version} is live with it`;
  if (view.nextBuild && view.nextBuild.length > 0) return `${what}: builds see it from the next push`;
  return `${what}: the next deploy starts with it`;
}
