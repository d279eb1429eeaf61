import type { AppStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import { validateAppName } from '../domain/app-name.js';
import { ConflictError } from '../domain/errors.js';

export interface Repositories {
  exists(app: string): boolean;
  create(app: string): Promise<void>;
}

/** Finds an app, or creates it with its repository on the first push (as Dokku does). */
export class AppRegistry {
  constructor(
    private readonly apps: AppStore,
    private readonly repositories: Repositories,
    /** `appNameMaxLength` of the domain apps answer under. */
    private readonly maxNameLength: number,
  ) {}

  find(name: string): App | undefined {
    return this.apps.findByName(name);
  }

  async findOrCreate(name: string): Promise<App> {
    validateAppName(name, this.maxNameLength);
    const existing = this.apps.findByName(name);
    const renamedTo = existing ? undefined : this.apps.renamedTo(name);
    // A push to the old remote of a renamed app must not make a new app of the old name.
    if (renamedTo) {
      throw new ConflictError(
        `${name} was renamed to ${renamedTo}: point your remote at it (pilot git:remote -a ${renamedTo}); ` +
          `\`pilot apps:create ${name}\` makes a new app of the old name`,
      );
    }
    const app = existing ?? this.apps.create(name);
    if (!this.repositories.exists(name)) await this.repositories.create(name);
    return app;
  }
}
