import type { AppStore, TokenRecord, TokenStore } from '../domain/ports.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { CreateTokenBody } from '../domain/shapes.js';
import { generateToken, hashToken, tokenPrefix } from '../domain/tokens.js';

const TOKEN_NAME = /^[\w.@ -]{1,64}$/;

export interface CreatedToken extends TokenRecord {
  /** The secret itself: shown once, never stored. */
  readonly token: string;
}

/** Admin tokens and deploy tokens scoped to one app; only hashes are stored. */
export class TokenService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly apps: AppStore,
  ) {}

  create(request: CreateTokenBody): CreatedToken {
    if (!TOKEN_NAME.test(request.name)) {
      throw new ValidationError('invalid token name: use 1 to 64 letters, digits, spaces and . _ @ - (e.g. "ci deploy")');
    }
    let appId: number | null = null;
    if (request.app !== undefined) {
      const app = this.apps.findByName(request.app);
      if (!app) throw new NotFoundError(`no app named "${request.app}" to scope the token to`);
      appId = app.id;
    }
    const token = generateToken();
    const record = this.tokens.create({
      name: request.name,
      prefix: tokenPrefix(token),
      hash: hashToken(token),
      scope: appId === null ? 'admin' : 'app',
      appId,
    });
    return { ...record, token };
  }

  list(): TokenRecord[] {
    return this.tokens.list();
  }

  /**
   * Revokes the one token that `reference` names exactly: its id, its name, or its prefix as
   * listed (`pilot_xxxxxx`). Refuses a reference that names no token or more than one (say the
   * id instead), and revoking the last admin token.
   */
  revoke(reference: string): TokenRecord {
    const tokens = this.tokens.list();
    const matching = tokens.filter((token) => namesToken(token, reference));
    const shown = JSON.stringify(reference.slice(0, 64));
    if (matching.length === 0) throw new NotFoundError(`no token with the id, name or prefix ${shown} (see \`pilot tokens\`)`);
    if (matching.length > 1) {
      const listed = matching.map((token) => `${token.id} (${token.name}, ${token.prefix}…)`).join(', ');
      throw new ConflictError(`${shown} names ${matching.length} tokens: ${listed}; nothing was revoked, revoke one by its id`);
    }
    const [token] = matching as [TokenRecord];
    if (token.scope === 'admin' && tokens.filter((other) => other.scope === 'admin').length === 1) {
      throw new ValidationError('this is the last admin token: create another admin token first');
    }
    const revoked = this.tokens.revoke(token.id);
    if (!revoked) throw new NotFoundError(`the token ${token.id} was revoked meanwhile`);
    return revoked;
  }
}

function namesToken(token: TokenRecord, reference: string): boolean {
  if (String(token.id) === reference || token.name === reference) return true;
  return reference.startsWith('pilot_') && token.prefix === reference;
}
