import { ValidationError } from './errors.js';

const APP_NAME = /^[a-z][a-z0-9-]*$/;
/** The longest DNS label. */
const LABEL_MAX = 63;
/** The longest host name (RFC 1035), without the trailing dot. */
const HOSTNAME_MAX = 253;

/** Joins an app's name and a branch's in a preview's name (`shop--preview-login`): no app name of its own holds it. */
export const PREVIEW_SEPARATOR = '--';

/** Names that would collide with the control plane or look like it. */
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set([
  'pilot', 'www', 'api', 'admin', 'git', 'mail', 'caddy', 'docker', 'localhost', 'health', 'static', 'assets',
]);

/** How long an app name may be: one DNS label, and `<app>.<domain>` within a host name's length. */
export function appNameMaxLength(domain: string): number {
  return Math.max(1, Math.min(LABEL_MAX, HOSTNAME_MAX - domain.length - 1));
}

/** App names are DNS labels, because apps answer at `<app>.<domain>`. */
export function validateAppName(name: string, maxLength: number = LABEL_MAX): string {
  const shown = JSON.stringify(name.slice(0, 70));
  if (!APP_NAME.test(name) || name.endsWith('-') || name.length > maxLength) {
    throw new ValidationError(
      `invalid app name ${shown}: use 1 to ${maxLength} lowercase letters, digits and dashes, ` +
        'starting with a letter and not ending with a dash (e.g. my-app)',
    );
  }
  if (name.includes(PREVIEW_SEPARATOR)) {
    throw new ValidationError(`invalid app name ${shown}: "${PREVIEW_SEPARATOR}" is kept for preview apps (<app>${PREVIEW_SEPARATOR}<branch>); use a single dash`);
  }
  if (RESERVED_APP_NAMES.has(name)) {
    throw new ValidationError(`the app name ${shown} is reserved: pick another name (e.g. ${name}-app)`);
  }
  return name;
}
