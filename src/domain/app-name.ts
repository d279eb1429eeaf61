import { ValidationError } from './errors.js';

const APP_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** Names that would collide with the control plane or look like it. */
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set([
  'pilot', 'www', 'api', 'admin', 'git', 'mail', 'caddy', 'docker', 'localhost', 'health', 'static', 'assets',
]);

/** App names are DNS labels, because apps answer at `<app>.<domain>`. */
export function validateAppName(name: string): string {
  const shown = JSON.stringify(name.slice(0, 64));
  if (!APP_NAME.test(name) || name.endsWith('-')) {
    throw new ValidationError(
      `invalid app name ${shown}: use 1 to 30 lowercase letters, digits and dashes, ` +
        'starting with a letter and not ending with a dash (e.g. my-app)',
    );
  }
  if (RESERVED_APP_NAMES.has(name)) {
    throw new ValidationError(`the app name ${shown} is reserved: pick another name (e.g. ${name}-app)`);
  }
  return name;
}
