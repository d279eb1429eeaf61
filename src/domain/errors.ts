/**
 * Typed errors with messages written for the person who reads them.
 * The HTTP error handler, the git hook and the CLI each print them their own way;
 * anything that is not a PilotError is an internal error.
 */
export abstract class PilotError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The environment holds a value Pilot cannot run with. */
export class ConfigError extends PilotError {
  readonly code = 'PILOT_CONFIG_INVALID';
  readonly statusCode = 500;
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** The client sent something that is not acceptable (bad name, bad body...). */
export class ValidationError extends PilotError {
  readonly code = 'PILOT_INVALID_INPUT';
  readonly statusCode = 400;
}

export class NotFoundError extends PilotError {
  readonly code = 'PILOT_NOT_FOUND';
  readonly statusCode = 404;
}

export class UnauthorizedError extends PilotError {
  readonly code = 'PILOT_UNAUTHORIZED';
  readonly statusCode = 401;
}

export class ForbiddenError extends PilotError {
  readonly code = 'PILOT_FORBIDDEN';
  readonly statusCode = 403;
}

/** The request cannot be done in the current state (an image that was pruned, a taken domain...). */
export class ConflictError extends PilotError {
  readonly code = 'PILOT_CONFLICT';
  readonly statusCode = 409;
}

/** A deploy step failed; the message says what failed and what still serves. */
export class DeployError extends PilotError {
  readonly code: string;
  readonly statusCode = 422;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A dependency (Docker engine, Caddy) did not answer or refused what Pilot asked. */
/** A process that failed its check; the deploy shows that process's last log lines. */
export class ProcessCheckError extends DeployError {
  constructor(
    message: string,
    /** The runtime's id of the process. */
    readonly processId: string,
  ) {
    super('PILOT_HEALTH_CHECK_FAILED', message);
  }
}

export class DependencyError extends PilotError {
  readonly code: string;
  readonly statusCode = 502;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
