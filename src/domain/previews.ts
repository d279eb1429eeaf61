/**
 * Preview apps, as values: which branch pushes deploy a preview, the preview's name, how many
 * an app may have, and the config it runs with. The service (services/previews.ts) acts on them.
 */
import { createHash } from 'node:crypto';
import { PREVIEW_SEPARATOR } from './app-name.js';
import { ValidationError } from './errors.js';

/** How many previews an app may have unless its settings say otherwise. */
export const DEFAULT_MAX_PREVIEWS = 5;
/** The most previews an app may be allowed: each one is a running app. */
export const MAX_PREVIEWS_LIMIT = 50;
const PATTERN_MAX_LENGTH = 200;
/** Hex digits of the branch's hash in a name that had to be shortened. */
const HASH_LENGTH = 6;

export interface PreviewSettings {
  readonly enabled: boolean;
  /** A glob of branch names (`preview/*`); null: every branch but the deploy branch. */
  readonly pattern: string | null;
  readonly maxPreviews: number;
}

/** An app's settings until previews are enabled: what enabling without a pattern or cap gives. */
export const DISABLED_PREVIEWS: PreviewSettings = { enabled: false, pattern: 'preview/*', maxPreviews: DEFAULT_MAX_PREVIEWS };

/** A preview app: the app deployed from one branch of its parent's repository. */
export interface Preview {
  readonly appId: number;
  readonly name: string;
  readonly parentId: number;
  readonly branch: string;
  readonly createdAt: string;
}

/** What a push of a branch does to the parent's previews. */
export type PreviewDecision =
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'refuse'; readonly reason: string }
  | { readonly action: 'deploy'; readonly name: string; readonly existing: boolean };

/** A branch name as a DNS label's piece: lowercase, every run of other characters one dash, none at the ends. */
export function branchSlug(branch: string): string {
  return branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * `<parent>--<slug>` within `maxLength` (a DNS label, `<name>.<domain>` a host name). When the
 * slug does not fit, is empty, or `distinct` asks for it (another branch has that slug), it
 * is cut and ends with a short hash of the branch name, so two branches never share a name.
 */
export function previewAppName(parent: string, branch: string, maxLength: number, distinct = false): string {
  const prefix = `${parent}${PREVIEW_SEPARATOR}`;
  const room = maxLength - prefix.length;
  if (room < HASH_LENGTH) {
    throw new ValidationError(`the app name ${parent} is too long for previews: <app>--<branch> must fit in ${maxLength} characters; rename the app or use a shorter PILOT_DOMAIN`);
  }
  const slug = branchSlug(branch);
  if (!distinct && slug !== '' && slug.length <= room) return `${prefix}${slug}`;
  const hash = createHash('sha256').update(branch).digest('hex').slice(0, HASH_LENGTH);
  const cut = slug.slice(0, Math.max(0, room - HASH_LENGTH - 1)).replace(/-+$/, '');
  return `${prefix}${cut === '' ? hash : `${cut}-${hash}`}`;
}

/**
 * A preview pattern as given: a glob of branch names (`*` within a segment, `**` across
 * segments, `?` one character), checked so that a typo is refused rather than never matching.
 */
export function validatePreviewPattern(pattern: string): string {
  const shown = JSON.stringify(pattern.slice(0, 60));
  if (pattern.trim() === '' || pattern.length > PATTERN_MAX_LENGTH || /[\s\\~^:[\]]/.test(pattern) || pattern.startsWith('refs/')) {
    throw new ValidationError(
      `invalid preview pattern ${shown}: give a glob of branch names of up to ${PATTERN_MAX_LENGTH} characters, ` +
        "with * (within a segment), ** (across segments) and ?, no spaces, [ ] or refs/ (e.g. 'preview/*', 'feature/**')",
    );
  }
  return pattern;
}

/** The glob as a regular expression over the whole branch name. */
function patternRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(\*\*|\*|\?)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** Whether a push of `branch` deploys a preview (never the deploy branch: that one deploys the app itself). */
export function isPreviewBranch(settings: PreviewSettings, branch: string, deployBranch: string): boolean {
  if (!settings.enabled || branch === deployBranch) return false;
  return settings.pattern === null || patternRegExp(settings.pattern).test(branch);
}

/** The branches that deploy previews, for people. */
export function describePreviewBranches(settings: PreviewSettings, deployBranch: string): string {
  if (!settings.enabled) return 'previews are off';
  return settings.pattern === null ? `every branch but ${deployBranch} deploys a preview` : `branches matching ${settings.pattern} deploy previews`;
}

export interface PreviewPush {
  readonly parent: string;
  readonly branch: string;
  readonly deployBranch: string;
  readonly settings: PreviewSettings;
  /** The parent's previews now. */
  readonly previews: readonly Pick<Preview, 'name' | 'branch'>[];
  /** Branches of the same push that deploy a preview too, judged before this one: new ones take a place each. */
  readonly pushedWith?: readonly string[];
  /** Whether an app has this name. */
  readonly taken: (name: string) => boolean;
  readonly maxNameLength: number;
}

/** What a push of a branch does: redeploy its preview, create one (within the cap), or nothing. */
export function decidePreview(push: PreviewPush): PreviewDecision {
  const { parent, branch, settings, previews } = push;
  if (!isPreviewBranch(settings, branch, push.deployBranch)) {
    return { action: 'skip', reason: `Pushed ${branch}: only ${push.deployBranch} deploys, nothing was deployed (${describePreviewBranches(settings, push.deployBranch)})` };
  }
  const existing = previews.find((preview) => preview.branch === branch);
  if (existing) return { action: 'deploy', name: existing.name, existing: true };
  const coming = new Set((push.pushedWith ?? []).filter((other) => other !== branch && !previews.some((preview) => preview.branch === other))).size;
  if (previews.length + coming >= settings.maxPreviews) {
    const count = `${previews.length} preview${previews.length === 1 ? '' : 's'}${coming > 0 ? ` and this push makes ${coming} more` : ''}`;
    return {
      action: 'refuse',
      reason:
        `${parent} has ${count}, its limit: nothing was deployed and ${branch} was not pushed; ` +
        'destroy one (git push pilot --delete BRANCH, or pilot previews:destroy BRANCH) or raise the limit (pilot previews:enable --max N)',
    };
  }
  for (const distinct of [false, true]) {
    const name = previewAppName(parent, branch, push.maxNameLength, distinct);
    if (!push.taken(name)) return { action: 'deploy', name, existing: false };
  }
  return { action: 'refuse', reason: `no free name for a preview of ${branch}: rename the branch` };
}

/** A preview's config vars: the parent's, with the preview overrides in their place. */
export function previewConfig(parent: Readonly<Record<string, string>>, overrides: Readonly<Record<string, string>>): Record<string, string> {
  return { ...parent, ...overrides };
}
