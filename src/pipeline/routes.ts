import type { TlsMode } from '../config.js';

export interface AppRoute {
  readonly name: string;
  /** `<app>.<domain>` first, then custom domains. */
  readonly hosts: readonly string[];
  /** `ip:port` of every container that serves the app. */
  readonly upstreams: readonly string[];
}

export interface RouteSettings {
  readonly adminAddress: string;
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
}

export interface CaddyfileContext {
  readonly adminAddress: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly localCerts: boolean;
  readonly tlsOff: boolean;
  readonly acmeEmail: string | undefined;
  /** The URL Caddy asks before it serves a certificate on demand; undefined without TLS. */
  readonly onDemandAsk: string | undefined;
  readonly controlPlane: { readonly sites: string; readonly upstream: string; readonly proxyKey?: string } | undefined;
  readonly apps: readonly { readonly name: string; readonly sites: string; readonly upstreams: string; readonly streamCloseDelay?: string }[];
}

/** The render context of Caddyfile.tmpl: pure, so it is tested by value. */
export function buildCaddyfileContext(settings: RouteSettings, routes: readonly AppRoute[]): CaddyfileContext {
  const site = (host: string): string => (settings.tls === 'off' ? `http://${host}` : host);
  const sites = (hosts: readonly string[]): string => hosts.map(site).join(', ');
  return {
    adminAddress: settings.adminAddress,
    httpPort: settings.httpPort,
    httpsPort: settings.httpsPort,
    localCerts: settings.tls === 'internal',
    tlsOff: settings.tls === 'off',
    acmeEmail: settings.tls === 'acme' ? settings.acmeEmail : undefined,
    onDemandAsk: settings.tls !== 'off' && settings.controlPlaneUpstream ? tlsAskUrl(settings.controlPlaneUpstream) : undefined,
    controlPlane: settings.controlPlaneUpstream
      ? {
        sites: sites([`pilot.${settings.domain}`]),
        upstream: settings.controlPlaneUpstream,
        ...(settings.controlPlaneProxyKey ? { proxyKey: settings.controlPlaneProxyKey } : {}),
      }
      : undefined,
    apps: [...routes]
      .filter((route) => route.upstreams.length > 0)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((route) => ({
        name: route.name,
        sites: sites(route.hosts),
        upstreams: route.upstreams.join(' '),
        ...(settings.streamCloseDelay ? { streamCloseDelay: settings.streamCloseDelay } : {}),
      })),
  };
}

/** Where Caddy asks whether a host name is Pilot's before it serves a certificate for it. */
export const TLS_ASK_PATH = '/tls/ask';

function tlsAskUrl(controlPlaneUpstream: string): string {
  return `http://${controlPlaneUpstream}${TLS_ASK_PATH}`;
}

export interface HostOwners {
  appExists(name: string): boolean;
  /** Whether a custom domain belongs to an app. */
  domainHasOwner(hostname: string): boolean;
}

/** Whether Pilot serves a host name: the control plane, `<app>.<domain>`, or an app's custom domain. */
export function isPilotHost(host: string, domain: string, owners: HostOwners): boolean {
  const name = host.toLowerCase();
  if (name === `pilot.${domain}`) return true;
  const suffix = `.${domain}`;
  if (name.endsWith(suffix)) {
    const label = name.slice(0, -suffix.length);
    if (!label.includes('.') && owners.appExists(label)) return true;
  }
  return owners.domainHasOwner(name);
}

export function appHost(app: string, domain: string): string {
  return `${app}.${domain}`;
}

/** The URL an app answers at, as the pusher is told. */
export function appUrl(app: string, settings: { tls: TlsMode; domain: string; httpPort: number; httpsPort: number }): string {
  const secure = settings.tls !== 'off';
  const port = secure ? settings.httpsPort : settings.httpPort;
  const shownPort = port === (secure ? 443 : 80) ? '' : `:${port}`;
  return `${secure ? 'https' : 'http'}://${appHost(app, settings.domain)}${shownPort}`;
}
