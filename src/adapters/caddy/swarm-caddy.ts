import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { CaddyAdmin, parseAdminAddress } from './admin.js';
import { DependencyError } from '../../domain/errors.js';
import { selectorLabels } from '../../domain/process-identity.js';

/** Where Caddy's admin API listens inside its container (published on the manager at PILOT_SWARM_CADDY_ADMIN only). */
export const CONTAINER_ADMIN_ADDRESS = '0.0.0.0:2019';
const CONTAINER_ADMIN_PORT = '2019/tcp';

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

  /** Adopts the running container or (re)creates it; resolves once its admin API answers. */
  async start(): Promise<void> {
    const container = this.docker.getContainer(this.containerName);
    const state = await container.inspect().catch(() => undefined);
    if (state && !state.State.Running) await container.start();
    if (!state) await this.create();
    const deadline = Date.now() + 30_000;
    while (!(await this.admin.reachable())) {
      if (Date.now() > deadline) {
        throw new DependencyError('PILOT_CADDY_UNREACHABLE', `Caddy's container ${this.containerName} does not answer at ${this.options.adminAddress}: see \`docker logs ${this.containerName}\` on the manager`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Removes the container (an instance that goes away; tests). */
  async remove(): Promise<void> {
    await this.docker.getContainer(this.containerName).remove({ force: true }).catch(() => undefined);
  }

  private async create(): Promise<void> {
    const admin = parseAdminAddress(this.options.adminAddress);
    if (!('host' in admin)) throw new DependencyError('PILOT_CADDY_ADMIN', `PILOT_SWARM_CADDY_ADMIN must be host:port, not ${this.options.adminAddress}`);
    const { httpPort, httpsPort } = this.options;
    // Caddy 2.6 takes no admin address from the environment: it starts from a one-line Caddyfile.
    const boot = `printf '{\\n\\tadmin ${CONTAINER_ADMIN_ADDRESS}\\n}\\n' >/tmp/boot.Caddyfile && exec caddy run --adapter caddyfile --config /tmp/boot.Caddyfile`;
    this.options.logger.info({ image: this.options.image, container: this.containerName }, 'starting Caddy on the manager');
    const container = await this.docker.createContainer({
      name: this.containerName,
      Image: this.options.image,
      Entrypoint: ['/bin/sh', '-c', boot],
      Cmd: [],
      Labels: selectorLabels(this.options.instance),
      ExposedPorts: { [`${httpPort}/tcp`]: {}, [`${httpsPort}/tcp`]: {}, [CONTAINER_ADMIN_PORT]: {} },
      HostConfig: {
        RestartPolicy: { Name: 'unless-stopped' },
        PortBindings: {
          [`${httpPort}/tcp`]: [{ HostPort: String(httpPort) }],
          [`${httpsPort}/tcp`]: [{ HostPort: String(httpsPort) }],
          [CONTAINER_ADMIN_PORT]: [{ HostIp: admin.host, HostPort: String(admin.port) }],
        },
      },
    });
    await container.start();
  }
}
