import type { AppStore, ConfigStore, PreviewStore, ReleaseStore } from '../domain/ports.js';
import type { App } from '../domain/types.js';
import type { DestroyedApp, PreviewConfigBody, PreviewConfigView, PreviewList, PreviewSettingsBody } from '../domain/shapes.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { decidePreview, previewConfig, validatePreviewPattern, type Preview, type PreviewDecision } from '../domain/previews.js';
import { DeployOutput } from '../pipeline/output.js';
import { validateConfigVars } from './validation.js';
import { releaseSummary } from './apps.js';

export interface PreviewServiceDeps {
  readonly apps: AppStore;
  readonly previews: PreviewStore;
  readonly configVars: ConfigStore;
  readonly releases: Pick<ReleaseStore, 'live'>;
  /** Destroys an app with its containers, images, network, volumes and routes (AppService.destroy). */
  readonly destroyApp: (app: App) => Promise<Omit<DestroyedApp, 'destroyed'>>;
  /** `appNameMaxLength` of the domain apps answer under. */
  readonly maxNameLength: number;
  readonly appUrl: (app: string) => string;
}

/**
 * Deploys the pushed branch into the preview app (a push's `git archive`, a tree a webhook's
 * fetch brought), with the same output as any deploy; resolves whether it went live.
 */
export type PreviewDeploy = (preview: App, write: (line: string) => void) => Promise<boolean>;

/**
 * Preview apps: a push of a branch matching an app's preview pattern deploys `<app>--<slug>`,
 * with its own URL, the app's config plus the preview overrides, its limits and build
 * directory; deleting the branch destroys it. The git hook (a push) and the repository
 * webhooks (a fetched branch) both come here.
 */
export class PreviewService {
  constructor(private readonly deps: PreviewServiceDeps) {}

  list(parent: App): PreviewList {
    const settings = this.deps.previews.settings(parent.id);
    return {
      enabled: settings.enabled,
      pattern: settings.pattern,
      maxPreviews: settings.maxPreviews,
      overrideKeys: Object.keys(this.deps.previews.overrides(parent.id)),
      previews: this.deps.previews.list(parent.id).map((preview) => {
        const live = this.deps.releases.live(preview.appId);
        return { branch: preview.branch, app: preview.name, url: this.deps.appUrl(preview.name), release: live ? releaseSummary(live) : null, createdAt: preview.createdAt };
      }),
    };
  }

  /** Turns previews on or off, with their pattern and cap; previews that exist stay (destroy them to free their place). */
  configure(parent: App, body: PreviewSettingsBody): PreviewList {
    if (this.deps.previews.parentOf(parent.id) !== undefined) throw new ValidationError(`${parent.name} is a preview: previews of previews are not made; configure its app`);
    const current = this.deps.previews.settings(parent.id);
    const pattern = body.pattern === undefined ? current.pattern : body.pattern === null ? null : validatePreviewPattern(body.pattern);
    this.deps.previews.saveSettings(parent.id, { enabled: body.enabled, pattern, maxPreviews: body.maxPreviews ?? current.maxPreviews });
    return this.list(parent);
  }

  /** The preview overrides, values included (admin: they may be secrets). */
  config(parent: App): PreviewConfigView {
    return { config: this.deps.previews.overrides(parent.id) };
  }

  /** Sets and unsets overrides; previews get them at their branch's next push. */
  changeConfig(parent: App, body: PreviewConfigBody): PreviewConfigView {
    const set = body.set ?? {};
    validateConfigVars(set);
    const unset = body.unset ?? [];
    const both = unset.filter((key) => key in set);
    if (both.length > 0) throw new ValidationError(`${both.join(', ')} both set and unset: give each var once`);
    this.deps.previews.changeOverrides(parent.id, { ...set, ...Object.fromEntries(unset.map((key) => [key, null])) });
    return this.config(parent);
  }

  /** The id of the app `name` previews, if it is a preview: that app's deploy tokens may act on it. */
  parentId(name: string): number | undefined {
    const app = this.deps.apps.findByName(name);
    return app ? this.deps.previews.parentOf(app.id) : undefined;
  }

  /** What a push of `branch` to `parent` would do (after `pushedWith`, branches of the same push that deploy previews), deciding nothing yet. */
  decide(parent: App, branch: string, deployBranch: string, pushedWith: readonly string[] = []): PreviewDecision {
    return decidePreview({
      parent: parent.name,
      branch,
      deployBranch,
      pushedWith,
      settings: this.deps.previews.settings(parent.id),
      previews: this.deps.previews.list(parent.id),
      taken: (name) => this.deps.apps.findByName(name) !== undefined,
      maxNameLength: this.deps.maxNameLength,
    });
  }

  /**
   * A push of `branch` (not the deploy branch) to `parent`: deploys its preview, created within
   * the cap, with the parent's config and settings as they are now. Resolves true when the push
   * may land (deployed, or not a preview branch), false when refused or failed; a preview this
   * push created and could not deploy is destroyed again, so nothing is left behind.
   */
  async branchPushed(parent: App, branch: string, options: { deployBranch: string; deploy: PreviewDeploy }, write: (line: string) => void): Promise<boolean> {
    const output = new DeployOutput(write);
    const decision = this.decide(parent, branch, options.deployBranch);
    if (decision.action === 'skip') {
      output.step(decision.reason);
      return true;
    }
    if (decision.action === 'refuse') {
      output.error(decision.reason);
      return false;
    }
    // Decided and written with no await between: two pushes cannot both take the last place.
    const preview = decision.existing ? this.deps.apps.findByName(decision.name) : this.createPreview(parent, branch, decision.name);
    if (!preview) throw new ConflictError(`the preview ${decision.name} of ${branch} is gone: push again`);
    const before = { config: this.deps.configVars.get(preview.id), buildKeys: this.deps.configVars.buildKeys(preview.id) };
    this.follow(parent, preview);
    output.step(`${decision.existing ? 'Redeploying' : 'Creating'} the preview ${preview.name} of ${parent.name} from ${branch}`);
    const live = await options.deploy(preview, write);
    if (live) return true;
    if (decision.existing) {
      // Its live release runs on: so do the config and settings it was deployed with.
      this.deps.configVars.replace(preview.id, before.config, before.buildKeys);
      this.applySettings(preview.id, preview);
    } else {
      await this.deps.destroyApp(preview);
      output.error(`the preview ${preview.name} was removed again: nothing was created`);
    }
    return false;
  }

  /** The branch was deleted: its preview goes, with everything it had. Resolves false only when destroying it failed. */
  async branchDeleted(parent: App, branch: string, write: (line: string) => void): Promise<boolean> {
    const output = new DeployOutput(write);
    const preview = this.deps.previews.list(parent.id).find((candidate) => candidate.branch === branch);
    if (!preview) {
      output.step(`Deleted ${branch}: ${parent.name} has no preview of it, nothing to destroy`);
      return true;
    }
    output.step(`Destroying the preview ${preview.name} of ${branch}`);
    const destroyed = await this.destroyPreview(preview);
    output.detail(`removed ${destroyed.containers} container(s) and ${destroyed.images} image(s); ${this.deps.appUrl(preview.name)} no longer serves`);
    return true;
  }

  /** `pilot previews:destroy BRANCH`: as deleting the branch (which stays in the repository; its next push deploys it again). */
  async destroy(parent: App, branch: string): Promise<DestroyedApp> {
    const preview = this.deps.previews.list(parent.id).find((candidate) => candidate.branch === branch);
    if (!preview) {
      const branches = this.deps.previews.list(parent.id).map((candidate) => candidate.branch);
      throw new NotFoundError(`${parent.name} has no preview of ${branch}${branches.length > 0 ? `; its previews: ${branches.join(', ')}` : ''}`);
    }
    return { destroyed: preview.name, ...(await this.destroyPreview(preview)) };
  }

  private createPreview(parent: App, branch: string, name: string): App {
    const app = this.deps.apps.create(name);
    this.deps.previews.add({ appId: app.id, parentId: parent.id, branch });
    return app;
  }

  /** The preview takes the parent's config (with the overrides), limits and settings as they are at this push. */
  private follow(parent: App, preview: App): void {
    const { configVars, previews } = this.deps;
    configVars.replace(preview.id, previewConfig(configVars.get(parent.id), previews.overrides(parent.id)), configVars.buildKeys(parent.id));
    this.applySettings(preview.id, parent);
  }

  private applySettings(appId: number, from: Pick<App, 'memoryBytes' | 'cpus' | 'capAdd' | 'buildDir' | 'watchSeconds'>): void {
    const { apps } = this.deps;
    apps.setLimits(appId, { memoryBytes: from.memoryBytes, cpus: from.cpus });
    apps.setCapAdd(appId, from.capAdd);
    apps.setBuildDir(appId, from.buildDir);
    apps.setWatchSeconds(appId, from.watchSeconds);
  }

  private async destroyPreview(preview: Preview): Promise<Omit<DestroyedApp, 'destroyed'>> {
    const app = this.deps.apps.findByName(preview.name);
    if (!app) throw new NotFoundError(`the preview ${preview.name} is gone already`);
    return this.deps.destroyApp(app);
  }
}
