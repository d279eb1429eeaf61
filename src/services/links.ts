import type { AppRuntime, AppStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Deployer } from '../pipeline/deploy.js';

export interface LinkDeps {
  readonly apps: AppStore;
  readonly runtime: Pick<AppRuntime, 'link' | 'unlink'>;
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
  list(app: App): { links: string[]; linkedFrom: string[] } {
    return { links: [...app.links], linkedFrom: this.deps.apps.linkedFrom(app.id) };
  }

  async link(app: App, otherName: string): Promise<{ links: string[]; linkedFrom: string[] }> {
    const other = this.other(app, otherName);
    // Under the other app's lock too: a destroy of it under way would take away the network being joined.
    await this.bothLocked(app.name, other.name, async () => {
      const added = this.deps.apps.link(app.id, other.id);
      try {
        await this.deps.runtime.link(app.name, other.name);
      } catch (error) {
        // Not joined (on a swarm: a service that did not come back healthy, rolled back): not linked either.
        if (added) this.deps.apps.unlink(app.id, other.id);
        throw error;
      }
    });
    return this.list(this.reread(app));
  }

  async unlink(app: App, otherName: string): Promise<{ links: string[]; linkedFrom: string[] }> {
    const other = this.other(app, otherName);
    await this.deps.deployer.withAppLock(app.name, async () => {
      if (!this.deps.apps.unlink(app.id, other.id)) throw new NotFoundError(`${app.name} is not linked to ${other.name} (see \`pilot apps:links -a ${app.name}\`)`);
      try {
        await this.deps.runtime.unlink(app.name, other.name);
      } catch (error) {
        // Still joined (on a swarm: services put back on the network): still linked, and unlink can be tried again.
        this.deps.apps.link(app.id, other.id);
        throw error;
      }
    });
    return this.list(this.reread(app));
  }

  /** Runs `work` under both apps' locks, taken in name order so that two links never wait on each other. */
  private bothLocked(a: string, b: string, work: () => Promise<void>): Promise<void> {
    const [first, second] = [a, b].sort();
    return this.deps.deployer.withAppLock(first!, () => this.deps.deployer.withAppLock(second!, work));
  }

  private other(app: App, name: string): App {
    const other = this.deps.apps.findByName(name);
    if (!other) throw new NotFoundError(`no app named "${name}" to link ${app.name} to`);
    if (other.id === app.id) throw new ValidationError(`${app.name} reaches itself already: link it to another app`);
    return other;
  }

  private reread(app: App): App {
    return this.deps.apps.findByName(app.name) ?? app;
  }
}
