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
