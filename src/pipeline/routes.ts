import type { TlsMode } from '../config.js';
import { compareNames } from '../domain/process-identity.js';

export interface AppRoute {
  /** The app's id: its access log is named by it (a name can change, or come back as another app's). */
  readonly id: number;
  readonly name: string;
  /** `<app>.<domain>` first, then custom domains. */
  readonly hosts: readonly string[];
  /** `ip:port` of every container that serves the app. */
  readonly upstreams: readonly string[];
  /** Why visitors get a 503 page instead (maintenance, nothing running); undefined: proxied. */
  readonly unavailable?: Unavailable;
}

/**
 * Why an app with a web process answers 503: maintenance mode (the app keeps running), or no
 * web process running (scaled to 0, stopped). Either is a page that says so, not a refused
 * connection.
 */
export type Unavailable = 'maintenance' | 'not-running' | 'renamed';

/** A visitor retries a maintenance page after this long. */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 60;

export interface RouteSettings {
  readonly adminAddress: string;
  /** Host headers Caddy's admin API accepts, when it listens on an address other than the one Pilot dials. */
  readonly adminOrigins?: string | undefined;
  readonly domain: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tls: TlsMode;
  readonly acmeEmail: string | undefined;
  /** Where the control plane listens (`127.0.0.1:3000`); undefined keeps it off Caddy. */
  readonly controlPlaneUpstream?: string | undefined;
  /** Sent by Caddy with what it proxies to the control plane: only then is its X-Forwarded-For believed. */
  readonly controlPlaneProxyKey?: string | undefined;
  /** Keeps proxied WebSockets open this long across reloads; undefined where Caddy lacks it (< 2.7). */
  readonly streamCloseDelay: string | undefined;
  /** Where Caddy writes each app's access log (`app-<id>.log`, the router lines of `pilot logs`); undefined: none. */
  readonly accessLogDir?: string | undefined;
  /**
   * Swarm: Caddy runs in a container whose files Pilot may not reach, so each app's access log
   * goes to the container's output instead, tagged with the app (accessLogTag), and Pilot writes
   * it into `accessLogDir` as it follows that output (adapters/caddy/container-log.ts).
   */
  readonly accessLogToOutput?: boolean;
  /** Swarm: a request whose task does not answer (its node just died) is tried on another task. */
  readonly retryUpstreams?: boolean;
}

/** An app's access log grows to this size, then rolls over once: at most about twice this on disk per app. */
export const ACCESS_LOG_ROLL_MIB = 5;

export function accessLogFile(dir: string, appId: number): string {
  return `${dir}/app-${appId}.log`;
}

const ACCESS_LOG_TAG = /^pilot-app-(\d+)$/;

/**
 * The app an access log entry on Caddy's output belongs to, written into its `user_id` field
 * (Caddy 2.6 can neither name a site's logger nor add a field; Pilot's sites never
 * authenticate, so that field is otherwise empty).
 */
export function accessLogTag(appId: number): string {
  return `pilot-app-${appId}`;
}

/** The app id of an accessLogTag, undefined for anything else. */
export function appOfAccessLogTag(tag: unknown): number | undefined {
  const match = typeof tag === 'string' ? ACCESS_LOG_TAG.exec(tag) : null;
  return match ? Number(match[1]) : undefined;
}

export interface CaddyfileContext {
  readonly adminAddress: string;
  readonly adminOrigins?: string | undefined;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly localCerts: boolean;
  readonly tlsOff: boolean;
  readonly acmeEmail: string | undefined;
  /**
   * On-demand TLS, asked of Caddy itself (a loopback-only site of this file): the names it may
   * hold certificates for. Undefined without TLS or without any site.
   */
  readonly onDemand: { readonly askUrl: string; readonly askPath: string; readonly askQuery: string } | undefined;
  readonly controlPlane: { readonly sites: string; readonly upstream: string; readonly proxyKey?: string } | undefined;
  /** What a host Pilot serves no app at gets over HTTP (a renamed or destroyed app's old name, a typo). */
  readonly notFound: { readonly html: string };
  readonly apps: readonly {
    readonly name: string;
    readonly sites: string;
    readonly upstreams: string;
    readonly streamCloseDelay?: string;
    readonly retryUpstreams?: boolean;
    /** The file Caddy logs each request of the app's hosts to (rolled at `rollMiB`, one old file kept), or its output with the app's tag. */
    readonly accessLog?: { readonly file: string; readonly rollMiB: number } | { readonly tag: string };
    /** Answered by Caddy itself with this status, page and Retry-After instead of proxied. */
    readonly page?: { readonly status: number; readonly html: string; readonly retryAfter?: number };
  }[];
}

/** The render context of Caddyfile.tmpl: pure, so it is tested by value. */
export function buildCaddyfileContext(settings: RouteSettings, routes: readonly AppRoute[]): CaddyfileContext {
  const site = (host: string): string => (settings.tls === 'off' ? `http://${host}` : host);
  const sites = (hosts: readonly string[]): string => hosts.map(site).join(', ');
  // On a port other than 80/443 a visitor's Host carries it, and Caddy 2.6 maps a request to its
  // site's access log by the exact Host: app sites name the port then.
  const port = settings.tls === 'off' ? settings.httpPort : settings.httpsPort;
  const portSuffix = port === (settings.tls === 'off' ? 80 : 443) ? '' : `:${port}`;
  const appSites = (hosts: readonly string[]): string => hosts.map((host) => site(`${host}${portSuffix}`)).join(', ');
  const controlPlaneHosts = settings.controlPlaneUpstream ? [controlPlaneHost(settings.domain)] : [];
  const served = [...routes].filter((route) => route.upstreams.length > 0 || route.unavailable).sort((a, b) => compareNames(a.name, b.name));
  const tlsHosts = settings.tls === 'off' ? [] : [...controlPlaneHosts, ...served.flatMap((route) => route.hosts)];
  return {
    adminAddress: settings.adminAddress,
    ...(settings.adminOrigins ? { adminOrigins: settings.adminOrigins } : {}),
    httpPort: settings.httpPort,
    httpsPort: settings.httpsPort,
    localCerts: settings.tls === 'internal',
    tlsOff: settings.tls === 'off',
    acmeEmail: settings.tls === 'acme' ? settings.acmeEmail : undefined,
    onDemand: tlsHosts.length > 0 ? onDemandAsk(settings.httpPort, tlsHosts) : undefined,
    controlPlane: settings.controlPlaneUpstream
      ? {
        sites: sites(controlPlaneHosts),
        upstream: settings.controlPlaneUpstream,
        ...(settings.controlPlaneProxyKey ? { proxyKey: settings.controlPlaneProxyKey } : {}),
      }
      : undefined,
    notFound: { html: notFoundPage() },
    apps: served.map((route) => ({
      name: route.name,
      sites: appSites(route.hosts),
      upstreams: route.upstreams.join(' '),
      ...(settings.streamCloseDelay ? { streamCloseDelay: settings.streamCloseDelay } : {}),
      ...(settings.retryUpstreams ? { retryUpstreams: true } : {}),
      ...(settings.accessLogDir ? { accessLog: accessLogOf(settings, settings.accessLogDir, route.id) } : {}),
      ...(route.unavailable ? { page: unavailablePage(route.name, route.unavailable) } : {}),
    })),
  };
}

function accessLogOf(settings: RouteSettings, dir: string, appId: number): NonNullable<CaddyfileContext['apps'][number]['accessLog']> {
  return settings.accessLogToOutput ? { tag: accessLogTag(appId) } : { file: accessLogFile(dir, appId), rollMiB: ACCESS_LOG_ROLL_MIB };
}

/**
 * The page a visitor gets. Rendered into the Caddyfile as a quoted `respond` body: no quote,
 * backslash or brace (Caddy's placeholders), which app names (validated) never hold.
 */
function unavailablePage(app: string, why: Unavailable): { status: number; html: string; retryAfter?: number } {
  if (why === 'renamed') {
    const title = `No app named ${app} any more`;
    const html = `<!doctype html><html lang=en><meta charset=utf-8><title>${title}</title><h1>${title}</h1><p>This app was renamed: it no longer answers at this address. Ask its owner for the new one.</p></html>`;
    return { status: 404, html };
  }
  const [title, text] = why === 'maintenance'
    ? [`${app} is down for maintenance`, 'It will be back shortly. Please try again in a minute.']
    : [`${app} is not running`, 'No web process of this app runs right now (it is scaled to 0 or stopped).'];
  const html = `<!doctype html><html lang=en><meta charset=utf-8><title>${title}</title><h1>${title}</h1><p>${text}</p></html>`;
  return { status: 503, html, ...(why === 'maintenance' ? { retryAfter: MAINTENANCE_RETRY_AFTER_SECONDS } : {}) };
}

/** The 404 page of a host without an app. It names no host: the visitor's Host header is not echoed into HTML. */
function notFoundPage(): string {
  const title = 'No app here';
  const text = 'No app answers at this address: it may have been renamed or removed. Check the address, or ask its owner for the new one.';
  return `<!doctype html><html lang=en><meta charset=utf-8><title>${title}</title><h1>${title}</h1><p>${text}</p></html>`;
}

/** Where Caddy asks itself whether a host name is Pilot's before it serves a certificate for it. */
const TLS_ASK_PATH = '/tls/ask';

/**
 * Caddy's question answered by Caddy, from the names of this very config: an app's first
 * HTTPS visitor gets a certificate while the Pilot process is down, and no other name does.
 */
function onDemandAsk(httpPort: number, hosts: readonly string[]): NonNullable<CaddyfileContext['onDemand']> {
  return {
    askUrl: `http://127.0.0.1:${httpPort}${TLS_ASK_PATH}`,
    askPath: TLS_ASK_PATH,
    askQuery: [...new Set(hosts.map((host) => host.toLowerCase()))].map((host) => `domain=${host}`).join(' '),
  };
}

export function appHost(app: string, domain: string): string {
  return `${app}.${domain}`;
}

/** Where Caddy serves Pilot's own API and git. */
export function controlPlaneHost(domain: string): string {
  return `pilot.${domain}`;
}

/** The URL an app answers at, as the pusher is told. */
export function appUrl(app: string, settings: { tls: TlsMode; domain: string; httpPort: number; httpsPort: number }): string {
  const secure = settings.tls !== 'off';
  const port = secure ? settings.httpsPort : settings.httpPort;
  const shownPort = port === (secure ? 443 : 80) ? '' : `:${port}`;
  return `${secure ? 'https' : 'http'}://${appHost(app, settings.domain)}${shownPort}`;
}
