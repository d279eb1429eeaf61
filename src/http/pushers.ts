import type { ReleaseAuthor } from '../domain/types.js';

/** One ref's update, as git's command list and the pre-receive hook both name it. */
export interface RefUpdate {
  readonly oldSha: string;
  readonly newSha: string;
  readonly ref: string;
}

/**
 * Who is pushing what, while the push runs. The git route knows the token but not the deploy
 * that follows; the hook's deploy request (on the unix socket) knows the app and the update
 * but not the token: node-git-server starts git with Pilot's own environment, so nothing of
 * the request reaches the hook. The update the client asked for joins them.
 */
export class Pushers {
  private readonly pushes = new Map<string, ReleaseAuthor>();

  /** Records the pushes of `app`'s updates by `author`; the returned function forgets them (the push ended). */
  begin(app: string, updates: readonly RefUpdate[], author: ReleaseAuthor): () => void {
    const keys = updates.map((update) => keyOf(app, update));
    for (const key of keys) this.pushes.set(key, author);
    return () => {
      // Only its own: the same update pushed again meanwhile (by another token) is that push's.
      for (const key of keys) if (this.pushes.get(key) === author) this.pushes.delete(key);
    };
  }

  /** Who pushes this update of the app's repository, if a push through Pilot's git route does. */
  find(app: string, update: RefUpdate): ReleaseAuthor | undefined {
    return this.pushes.get(keyOf(app, update));
  }
}

function keyOf(app: string, update: RefUpdate): string {
  return [app, update.ref, update.oldSha, update.newSha].join('\u0000');
}
