import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import type { Logger } from 'pino';
import { CaddyAdmin, parseAdminAddress } from './admin.js';
import { DependencyError } from '../../domain/errors.js';
import { ensureImage } from '../docker/images.js';
import { messageOf } from '../docker/errors.js';
import { selectorLabels } from '../../domain/process-identity.js';

/**
 * The container is on every app's overlay, so its admin API must not listen on a wildcard: any
 * task could reconfigure Caddy. It listens on the container's default-bridge address only (eth0:
 * the engine connects a container's own network first, at every start), which no overlay reaches
 * and to which the engine's port publishing (PILOT_SWARM_CADDY_ADMIN) forwards. That address can
 * change when the container restarts, so Caddy reads it from its own environment, set by the boot
 * script at every start: every Caddyfile Pilot renders names the variable, never an address.
 */
export const CONTAINER_ADMIN_ADDRESS = '{$PILOT_CADDY_ADMIN_ADDRESS}';
const CONTAINER_ADMIN_PORT = '2019/tcp';
/** Caddy's local CA in the container: under XDG_DATA_HOME, which the spec sets to the volume. */
export const CONTAINER_LOCAL_CA = '/data/caddy/pki/authorities/local/root.crt';

/** The container's entrypoint: finds its bridge address, then runs Caddy with an admin on it alone. */
export function bootScript(adminOrigin: string): string {
  const caddyfile = `{\\n\\tadmin ${CONTAINER_ADMIN_ADDRESS} {\\n\\t\\torigins ${adminOrigin}\\n\\t}\\n}\\n`;
  return [
    `bridge=$(ip -4 -o addr show dev eth0 | awk '{split($4, a, "/"); print a[1]; exit}')`,
    `[ -n "$bridge" ] || { echo 'pilot: the container has no bridge address on eth0' >&2; exit 1; }`,
    `export PILOT_CADDY_ADMIN_ADDRESS="$bridge:2019"`,
    `printf '${caddyfile}' >/tmp/boot.Caddyfile`,
    'exec caddy run --adapter caddyfile --config /tmp/boot.Caddyfile',
  ].join(' && ');
}

export interface SwarmCaddyOptions {
  readonly instance: string;
  readonly image: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** `host:port` of the manager the admin API is published on, and Pilot reaches it at. */
  readonly adminAddress: string;
  readonly logger: Logger;
}

/**
 * Pilot's Caddy in swarm mode: a container `<instance>-caddy` on the manager's engine, which
 * SwarmRuntime joins to every app's overlay so that it reaches task addresses (a host process is
 * on no overlay). Ports 80/443 are published by plain DNAT on the manager, never through the
 * ingress routing mesh. The container restarts with the engine; an empty Caddy (a restarted
 * container) gets its routes back from the route watch, which sees Caddy's config changed.
 */
export class SwarmCaddy {
  readonly admin: CaddyAdmin;

  constructor(
    private readonly docker: Docker,
    private readonly options: SwarmCaddyOptions,
  ) {
    this.admin = new CaddyAdmin(parseAdminAddress(options.adminAddress));
  }

  get containerName(): string {
    return `${this.options.instance}-caddy`;
  }

  /**
   * Adopts the container or (re)creates it; resolves once its admin API answers. A container made
   * from another spec (an older Pilot's wildcard admin, another image or ports) is replaced.
   */
  async start(): Promise<void> {
    const container = this.docker.getContainer(this.containerName);
    const spec = containerSpec(this.options);
    const state = await container.inspect().catch(() => undefined);
    const current = state?.Config.Labels?.[SPEC_LABEL] === spec.Labels[SPEC_LABEL];
    if (state && !current) {
      this.options.logger.info({ container: this.containerName }, "replacing Caddy's container: its spec changed");
      await container.remove({ force: true });
    }
    if (state && current && !state.State.Running) await container.start();
    if (!state || !current) await this.create(spec);
    await this.joinAppNetworks();
    const deadline = Date.now() + 30_000;
    while (!(await this.admin.reachable())) {
      if (Date.now() > deadline) {
        throw new DependencyError('PILOT_CADDY_UNREACHABLE', `Caddy's container ${this.containerName} does not answer at ${this.options.adminAddress}: see \`docker logs ${this.containerName}\` on the manager`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Joins the container to every app's overlay it is not on yet: a recreated container reaches
   * the tasks at once, not after each app's next deploy (SwarmRuntime joins it to new ones).
   * After start only, so that the default bridge stays eth0, where the admin API listens.
   */
  private async joinAppNetworks(): Promise<void> {
    const label = Object.entries(selectorLabels(this.options.instance)).map(([key, value]) => `${key}=${value}`);
    const overlays = await this.docker.listNetworks({ filters: { label, driver: ['overlay'] } });
    for (const overlay of overlays) {
      const network = this.docker.getNetwork(overlay.Id);
      const joined = (await network.inspect()) as { Containers?: Record<string, { Name?: string }> };
      if (Object.values(joined.Containers ?? {}).some((container) => container.Name === this.containerName)) continue;
      await network.connect({ Container: this.containerName }).catch((error: unknown) => {
        // Joined meanwhile (SwarmRuntime.ensureNetwork), or the app's network went away with it.
        if (![403, 404, 409].includes((error as { statusCode?: number }).statusCode ?? 0)) throw error;
      });
    }
  }

  /**
   * Where the container reaches the engine's host: the gateway of the default bridge, its eth0.
   * Pilot's own address when Pilot runs on the manager.
   */
  async bridgeGateway(): Promise<string | undefined> {
    const bridge = (await this.docker.getNetwork('bridge').inspect()) as { IPAM?: { Config?: BridgeRange[] } };
    return gatewayOf(bridge.IPAM?.Config ?? []);
  }

  /** A file of the container (Caddy's local CA): Pilot may run on another machine than the manager. */
  async readFile(file: string): Promise<string> {
    const archive = await this.docker.getContainer(this.containerName).getArchive({ path: file });
    const extract = tarStream.extract();
    archive.pipe(extract);
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type === 'file') return Buffer.concat(chunks).toString('utf8');
    }
    throw new Error(`${file} in ${this.containerName} is not a file`);
  }

  /** Removes the container and its data volume (an instance that goes away; tests). */
  async remove(): Promise<void> {
    await this.docker.getContainer(this.containerName).remove({ force: true }).catch(() => undefined);
    await this.docker.getVolume(caddyDataVolume(this.options.instance)).remove().catch(() => undefined);
  }

  private async create(spec: ContainerSpec): Promise<void> {
    this.options.logger.info({ image: this.options.image, container: this.containerName }, 'starting Caddy on the manager');
    // A fresh manager has no image yet: pulled, as the registry's is.
    await ensureImage(this.docker, this.options.image, (line) => this.options.logger.info({ image: this.options.image }, line)).catch((error: unknown) => {
      throw new DependencyError('PILOT_CADDY_IMAGE', `Caddy's container cannot start: ${messageOf(error)} (check PILOT_CADDY_IMAGE, or load the image into the manager's engine)`, { cause: error });
    });
    // Labelled as the instance's (an existing volume is kept as it is).
    await this.docker.createVolume({ Name: caddyDataVolume(this.options.instance), Labels: selectorLabels(this.options.instance) });
    const container = await this.docker.createContainer({ name: this.containerName, ...spec });
    await container.start();
  }
}

const SPEC_LABEL = 'pilot.caddy-spec';

interface BridgeRange {
  readonly Subnet?: string;
  readonly Gateway?: string;
}

/**
 * The default bridge's gateway. An engine whose daemon.json has `default-address-pools` (as
 * install.sh writes it) lists the bridge's subnet without a gateway: Docker gives the bridge the
 * first address of the subnet then.
 */
export function gatewayOf(ranges: readonly BridgeRange[]): string | undefined {
  const named = ranges.find((range) => range.Gateway)?.Gateway;
  if (named) return named;
  const subnet = ranges.map((range) => /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(range.Subnet ?? '')).find((match) => match);
  if (!subnet) return undefined;
  const [a, b, c, d, bits] = subnet.slice(1).map(Number) as [number, number, number, number, number];
  if (bits > 30) return undefined;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const first = ((((a << 24) | (b << 16) | (c << 8) | d) & mask) >>> 0) + 1;
  return [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join('.');
}

export function caddyDataVolume(instance: string): string {
  return `${instance}-caddy-data`;
}

type ContainerSpec = Omit<Docker.ContainerCreateOptions, 'Labels'> & { readonly Labels: Record<string, string> };

/** What the container is created from, labelled with its own digest so that a changed spec is seen. */
export function containerSpec(options: SwarmCaddyOptions): ContainerSpec {
  const admin = parseAdminAddress(options.adminAddress);
  if (!('host' in admin)) throw new DependencyError('PILOT_CADDY_ADMIN', `PILOT_SWARM_CADDY_ADMIN must be host:port, not ${options.adminAddress}`);
  const { httpPort, httpsPort } = options;
  const spec = {
    Image: options.image,
    Entrypoint: ['/bin/sh', '-c', bootScript(options.adminAddress)],
    Cmd: [],
    // Caddy keeps its certificates and CA under XDG_DATA_HOME: on the volume whatever the image's own setting.
    Env: ['XDG_DATA_HOME=/data'],
    ExposedPorts: { [`${httpPort}/tcp`]: {}, [`${httpsPort}/tcp`]: {}, [CONTAINER_ADMIN_PORT]: {} },
    HostConfig: {
      RestartPolicy: { Name: 'unless-stopped' },
      // Its output carries every app's access log (Pilot copies it into its own files): bounded.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      // Each route reload opens a new listener and closes the old one: without this the kernel resets
      // the connections still queued on the old one (adapters/caddy/reuseport.ts). A sysctl of the
      // container's own network namespace: the host's setting does not reach it.
      Sysctls: { 'net.ipv4.tcp_migrate_req': '1' },
      // Certificates, ACME accounts and the internal CA outlive a recreated container.
      Mounts: [{ Type: 'volume' as const, Source: caddyDataVolume(options.instance), Target: '/data' }],
      PortBindings: {
        [`${httpPort}/tcp`]: [{ HostPort: String(httpPort) }],
        [`${httpsPort}/tcp`]: [{ HostPort: String(httpsPort) }],
        [CONTAINER_ADMIN_PORT]: [{ HostIp: admin.host, HostPort: String(admin.port) }],
      },
    },
  };
  const digest = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return { ...spec, Labels: { ...selectorLabels(options.instance), [SPEC_LABEL]: digest } };
}
