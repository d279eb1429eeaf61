import fs from 'node:fs';
import type { TokenStore } from '../domain/ports.js';
import { generateToken, hashToken, tokenPrefix } from '../domain/tokens.js';

export interface AdminTokenResult {
  /** Set only when the token was generated now: it is shown once, then only its hash is kept in the database. */
  readonly generated: string | undefined;
}

/** The name of the admin token that PILOT_ADMIN_TOKEN sets (API token names cannot hold parentheses). */
export const ENV_ADMIN_TOKEN_NAME = 'admin (PILOT_ADMIN_TOKEN)';

/**
 * The admin token is PILOT_ADMIN_TOKEN when set; otherwise one generated at first start and
 * saved (mode 0600) for the operator. The database keeps only its hash. PILOT_ADMIN_TOKEN is
 * the one valid token of its name: a restart with a new value (or none) revokes the old one,
 * so rotating it really locks the old value out.
 */
export function ensureAdminToken(tokens: TokenStore, configured: string | undefined, tokenFile: string): AdminTokenResult {
  tokens.replaceAdminToken(ENV_ADMIN_TOKEN_NAME, configured ? { hash: hashToken(configured), prefix: tokenPrefix(configured) } : undefined);
  if (configured) return { generated: undefined };
  if (fs.existsSync(tokenFile)) {
    const saved = fs.readFileSync(tokenFile, 'utf8').trim();
    tokens.ensureAdminToken('admin', hashToken(saved), tokenPrefix(saved));
    return { generated: undefined };
  }
  const token = generateToken();
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600, flag: 'wx' });
  tokens.ensureAdminToken('admin', hashToken(token), tokenPrefix(token));
  return { generated: token };
}
