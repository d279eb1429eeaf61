import fs from 'node:fs';
import type { TokenStore } from '../domain/ports.js';
import { generateToken, hashToken, tokenPrefix } from '../domain/tokens.js';

export interface AdminTokenResult {
  /** Set only when the token was generated now: it is shown once, then only its hash is kept in the database. */
  readonly generated: string | undefined;
}

/**
 * The admin token is PILOT_ADMIN_TOKEN when set; otherwise one generated at first start and
 * saved (mode 0600) for the operator. The database keeps only its hash.
 */
export function ensureAdminToken(tokens: TokenStore, configured: string | undefined, tokenFile: string): AdminTokenResult {
  if (configured) {
    tokens.ensureAdminToken('admin (PILOT_ADMIN_TOKEN)', hashToken(configured), tokenPrefix(configured));
    return { generated: undefined };
  }
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
