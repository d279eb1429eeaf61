import type { AppStore, ContainerEngine } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { instanceLabels, networkName } from '../pipeline/start.js';
import type { Deployer } from '../pipeline/deploy.js';

export interface LinkDeps {
  readonly apps: AppStore;
  readonly engine: ContainerEngine;
  readonly instance: string;
  /** A deploy of the app must not start a container between the link and the joining. */
  readonly deployer: Pick<Deployer, 'withAppLock'>;
}

/**
 * Links between apps. Each app has a network of its own; `link(a, b)` joins a's containers to
 * b's network, now and at every later start, so a reaches b's web processes at `http://b:PORT`
 * (and b's containers see a's on that network: a link is mutual). Nothing else crosses.
 */
export class LinkService {
  constructor(private readonly deps: LinkDeps) {}

  /** The apps `app` joins the network of, and those that join its own. */
  list(app: App): { links: readonly string[]; linkedFrom: string[] } {
    return { links: app.links, linkedFrom: this.deps.apps.linkedFrom(app.id) };
  }

  async link(app: App, otherName: string): Promise<{ links: readonly string[]; linkedFrom: string[] }> {
    const other = this.other(app, otherName);
    const network = networkName(this.deps.instance, other.name);
    await this.deps.deployer.withAppLock(app.name, async () => {
      await this.deps.engine.ensureNetwork(network, instanceLabels(this.deps.instance, other.name));
      this.deps.apps.link(app.id, other.id);
      for (const container of await this.containersOf(app)) await this.deps.engine.connectNetwork(network, container);
    });
    return this.list(this.reread(app));
  }

  async unlink(app: App, otherName: string): Promise<{ links: readonly string[]; linkedFrom: string[] }> {
    const other = this.other(app, otherName);
    const network = networkName(this.deps.instance, other.name);
    await this.deps.deployer.withAppLock(app.name, async () => {
      if (!this.deps.apps.unlink(app.id, other.id)) throw new NotFoundError(`${app.name} is not linked to ${other.name} (see \`pilot apps:links -a ${app.name}\`)`);
      for (const container of await this.containersOf(app)) await this.deps.engine.disconnectNetwork(network, container);
    });
    return this.list(this.reread(app));
  }

  private other(app: App, name: string): App {
    const other = this.deps.apps.findByName(name);
    if (!other) throw new NotFoundError(`no app named "${name}" to link ${app.name} to`);
    if (other.id === app.id) throw new ValidationError(`${app.name} reaches itself already: link it to another app`);
    return other;
  }

  private async containersOf(app: App): Promise<string[]> {
    return (await this.deps.engine.listContainers(instanceLabels(this.deps.instance, app.name))).map((container) => container.id);
  }

  private reread(app: App): App {
    return this.deps.apps.findByName(app.name) ?? app;
  }
}
