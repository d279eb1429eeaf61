import type { AppStore } from '../domain/ports.js';
import { PilotError } from '../domain/errors.js';
import type { PushRequest } from '../pipeline/deploy.js';
import type { PreviewService } from './previews.js';

/** What the git hook asks of a push of a branch that is not the deploy branch (http/deploy-socket.ts). */
export interface BranchPushes {
  /**
   * Whether the push of `branch` deploys a preview, is left alone, or is refused (over the cap), with what to tell the pusher;
   * `pushedWith`: the branches of the same push judged before that deploy previews (they count against the cap).
   */
  judge(app: string, branch: string, deployBranch: string, pushedWith: readonly string[]): { action: 'deploy' | 'skip' | 'refuse'; reason?: string };
  /** Deploys the push of `push.branch` into its preview. */
  pushed(push: PushRequest, deployBranch: string, write: (line: string) => void): Promise<boolean>;
  deleted(app: string, branch: string, write: (line: string) => void): Promise<boolean>;
}

/** Branch pushes over git: the preview service, with the push's archive deployed into the preview under its lock. */
export function previewPushes(deps: {
  readonly apps: Pick<AppStore, 'findByName'>;
  readonly previews: PreviewService;
  readonly deployPush: (push: PushRequest, write: (line: string) => void) => Promise<boolean>;
}): BranchPushes {
  const missing = (app: string) => `no app named "${app}": nothing was deployed`;
  return {
    judge(app, branch, deployBranch, pushedWith) {
      const parent = deps.apps.findByName(app);
      if (!parent) return { action: 'refuse', reason: missing(app) };
      try {
        const decision = deps.previews.decide(parent, branch, deployBranch, pushedWith);
        return decision.action === 'deploy' ? { action: 'deploy' } : decision;
      } catch (error) {
        if (error instanceof PilotError) return { action: 'refuse', reason: `${error.message}: nothing was deployed` };
        throw error;
      }
    },
    async pushed(push, deployBranch, write) {
      const parent = deps.apps.findByName(push.app);
      if (!parent) {
        write(` !     ${missing(push.app)}`);
        return false;
      }
      return deps.previews.branchPushed(parent, push.branch, { deployBranch, deploy: (preview, out) => deps.deployPush({ ...push, into: preview.name }, out) }, write);
    },
    async deleted(app, branch, write) {
      const parent = deps.apps.findByName(app);
      if (!parent) return true;
      return deps.previews.branchDeleted(parent, branch, write);
    },
  };
}
