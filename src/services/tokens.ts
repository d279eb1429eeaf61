import type { AppStore, TokenRecord, TokenStore } from '../domain/ports.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
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

  /** Revokes by id, name or prefix; refuses to revoke nothing, or the last admin token. */
  revoke(idNamePrefix: string): TokenRecord[] {
    const matching = this.tokens.list().filter((token) => [String(token.id), token.name, token.prefix].includes(idNamePrefix));
    if (matching.length === 0) throw new NotFoundError(`no token with id, name or prefix "${idNamePrefix}" (see \`pilot tokens\`)`);
    const admins = this.tokens.list().filter((token) => token.scope === 'admin');
    if (admins.length > 0 && admins.every((admin) => matching.some((token) => token.id === admin.id))) {
      throw new ValidationError('this would revoke every admin token: create another admin token first');
    }
    return this.tokens.revoke(idNamePrefix);
  }
}
