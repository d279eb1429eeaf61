/**
 * The long-lived connections (WebSockets) each token holds open, so that revoking a token also
 * ends what it already opened: a revoked token streams nothing more.
 */
export class TokenSessions {
  private readonly open = new Map<number, Set<() => void>>();

  /** Registers `end` to run if the token is revoked; returns what to call when the session ends by itself. */
  hold(tokenId: number, end: () => void): () => void {
    const sessions = this.open.get(tokenId) ?? new Set<() => void>();
    sessions.add(end);
    this.open.set(tokenId, sessions);
    return () => {
      sessions.delete(end);
      if (sessions.size === 0 && this.open.get(tokenId) === sessions) this.open.delete(tokenId);
    };
  }

  /** Ends every session of a token (it was revoked). */
  endAll(tokenId: number): void {
    const sessions = this.open.get(tokenId);
    this.open.delete(tokenId);
    for (const end of sessions ?? []) end();
  }

  /** Open sessions of a token. */
  count(tokenId: number): number {
    return this.open.get(tokenId)?.size ?? 0;
  }
}
