/**
 * What `load` gives (an `import()`), loaded at the first call and kept: for the modules an idle
 * server does not need, so they take no memory until used (bench/RESULTS.md, control plane).
 * A failed load is tried again at the next call. Route plugins use it for their handlers: the
 * routes are declared at start (access checks, the OpenAPI document), what serves them loads
 * at the first request, e.g.
 *   const dashboard = onFirstUse(() => import('./dashboard/render.js'));
 *   api.get('/dashboard', async (request, reply) => (await dashboard()).render(request, reply));
 */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}

/**
 * The exports of a CommonJS package loaded with `import()`, named as its types say. Node gives
 * them as named exports (and `default`, its module.exports); tsx, for a package marked
 * `__esModule`, gives only the named ones; the server's bundle (scripts/build-server.mjs) gives
 * only `default`. `probe` is one of its exports, to tell which.
 */
export function commonJsExports<T extends object>(namespace: T, probe: keyof T): T {
  return probe in namespace ? namespace : (namespace as unknown as { default: T }).default;
}
