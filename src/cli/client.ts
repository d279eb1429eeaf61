import { CliError } from './errors.js';
import type { Credentials } from './settings.js';

/** An API path under one app: `/apps/<app><rest>`. */
export function appPath(app: string, rest = ''): string {
  return `/apps/${encodeURIComponent(app)}${rest}`;
}

/** The REST API from the CLI: JSON in and out, `{error, message}` turned into a CliError. */
export class ApiClient {
  constructor(private readonly credentials: Credentials) {}

  get url(): string {
    return this.credentials.url;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** ws(s):// URL of an API path, for WebSockets. */
  socketUrl(path: string): string {
    return `${this.credentials.url.replace(/^http/, 'ws')}/api/v1${path}`;
  }

  get token(): string {
    return this.credentials.token;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.credentials.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.credentials.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new CliError(`cannot reach ${this.credentials.url}: ${cause}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`${this.credentials.url} answered ${response.status} with something that is not JSON: is it a Pilot server?`);
    }
    if (!response.ok) {
      const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
      throw new CliError(message);
    }
    return parsed as T;
  }
}
