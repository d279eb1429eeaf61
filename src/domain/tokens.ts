import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes (256 bits), URL-safe, with a recognisable prefix for secret scanners. */
export function generateToken(): string {
  return `pilot_${randomBytes(32).toString('base64url')}`;
}

/**
 * Tokens carry 256 bits of entropy, so a fast hash is enough to make the stored value
 * useless to a thief; lookup by hash keeps the comparison out of application code.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The part of a token that may be shown in listings. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 12);
}
