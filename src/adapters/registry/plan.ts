/**
 * The registry Pilot runs on a swarm manager, as values: its configuration file, the names of what
 * it holds, and which manifests a collection deletes. No I/O: registry.ts does what these say.
 */
import { stringify } from 'yaml';

/** Where the registry's files are inside its container (the image's own default path). */
export const REGISTRY_CONFIG_DIR = '/etc/docker/registry';
export const REGISTRY_CONFIG_FILE = `${REGISTRY_CONFIG_DIR}/config.yml`;
/** The storage volume's mount point: `registry:2`'s own. */
export const REGISTRY_STORAGE_DIR = '/var/lib/registry';
/** The port the registry listens on inside its container. */
export const REGISTRY_CONTAINER_PORT = 5000;

/** The registry's configuration file (distribution 2.x): TLS, htpasswd, deletes allowed. */
export function registryConfig(): string {
  return stringify({
    version: 0.1,
    log: { level: 'info', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: REGISTRY_STORAGE_DIR },
      // Manifests of releases no longer kept are deleted through the API, then garbage-collected.
      delete: { enabled: true },
      // No blob descriptor cache: after a garbage collection it would still say a deleted layer
      // exists, a later push would skip it, and the image would be missing that layer.
    },
    http: {
      addr: `:${REGISTRY_CONTAINER_PORT}`,
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      tls: { certificate: `${REGISTRY_CONFIG_DIR}/server.crt`, key: `${REGISTRY_CONFIG_DIR}/server.key` },
    },
    auth: { htpasswd: { realm: 'pilot-registry', path: `${REGISTRY_CONFIG_DIR}/htpasswd` } },
  });
}

/** `host:port` as nodes reach the registry (an IPv6 address in brackets). */
export function registryAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface ImageName {
  /** `<instance>/<app>`: the repository inside the registry. */
  readonly repository: string;
  readonly tag: string;
}

/** Docker's grammar of a path component: separators `.`, `_`, `__` or dashes between alphanumerics. */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A local release image (`pilot/shop:v3`) as a repository and tag; undefined for anything else (a digest, another registry's). */
export function parseImageName(image: string): ImageName | undefined {
  const colon = image.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const repository = image.slice(0, colon);
  const tag = image.slice(colon + 1);
  // A first component with a dot or a port names a registry: not an image of this engine's.
  const first = repository.split('/')[0] ?? '';
  if (first.includes('.') || first.includes(':') || first === 'localhost') return undefined;
  return REPOSITORY.test(repository) && TAG.test(tag) ? { repository, tag } : undefined;
}

/** A tag of the registry and the manifest it points at. */
export interface TaggedManifest {
  readonly tag: string;
  readonly digest: string;
}

/**
 * The manifests to delete so that only `keepTags` stay. Deleting a manifest deletes every tag
 * on it, so a manifest that a kept tag points at stays even when other tags of it go.
 */
export function manifestsToDelete(tagged: readonly TaggedManifest[], keepTags: readonly string[]): string[] {
  const keep = new Set(keepTags);
  const kept = new Set(tagged.filter((entry) => keep.has(entry.tag)).map((entry) => entry.digest));
  return [...new Set(tagged.filter((entry) => !keep.has(entry.tag) && !kept.has(entry.digest)).map((entry) => entry.digest))];
}
