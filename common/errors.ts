import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from './logger.ts';

export type ErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'SERVICE_UNAVAILABLE' | 'INTERNAL_SERVER_ERROR';

/** A failure the client can act on; its code becomes extensions.code. */
export class DomainError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = new.target.name;
  }
}

/** An invalid argument; `field` is its path, e.g. `input.email`. */
export class InvalidInputError extends DomainError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', message, { field });
  }
}

export class NotFoundError extends DomainError {
  constructor(type: string, id: string) {
    super('NOT_FOUND', `${type} ${id} does not exist`, { type, id });
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super('CONFLICT', message, extensions);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'missing or wrong credentials') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'not allowed') {
    super('FORBIDDEN', message);
  }
}

/** A dependency is failing; retryAfter is in whole seconds. */
export class ServiceUnavailableError extends DomainError {
  constructor(message: string, retryAfter: number, extensions: Record<string, unknown> = {}) {
    super('SERVICE_UNAVAILABLE', message, { retryAfter, ...extensions });
  }
}

/** Error codes of a PostgreSQL that cannot be reached: socket errors, and postgres.js's own connection errors. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** SQLSTATEs of a server going away or not taking connections: 08xxx, admin/crash shutdown, cannot connect now, too many connections. */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/**
 * True when `error` says PostgreSQL is unreachable (down, restarting, refusing
 * connections) rather than that the statement was wrong: a postgres.js error,
 * possibly wrapped by drizzle (DrizzleQueryError keeps it as `cause`).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current = error as { code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; current && depth < 3; depth += 1) {
    // Node reports a refused connection to every address of a host as one AggregateError.
    if (current instanceof AggregateError) return current.errors.some((inner) => isDatabaseUnavailable(inner));
    const code = current.code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || isUnavailableSqlState(code))) return true;
    // Only drizzle's wrapper is looked through: other causes (an HTTP call's) are not the database's.
    if (current.constructor?.name !== 'DrizzleQueryError') return false;
    current = current.cause as typeof current;
  }
  return false;
}

/** SERVICE_UNAVAILABLE for a request that could not reach PostgreSQL (its transaction, if any, did not commit). */
export function databaseUnavailable(): ServiceUnavailableError {
  return new ServiceUnavailableError('the database is unavailable; try again shortly', DATABASE_RETRY_AFTER_SECONDS, { dependency: 'database' });
}

/** retryAfter of a request refused because PostgreSQL is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

export interface DatabaseErrorOptions {
  /** The service reads PostgreSQL: an unreachable database is SERVICE_UNAVAILABLE (retryAfter), logged as a warning, not a bug. */
  database?: boolean;
}

/** True for errors that are bugs rather than something the client can act on. */
function isUnexpected(formatted: GraphQLFormattedError, error: unknown): boolean {
  if (unwrapResolverError(error) instanceof DomainError) return false;
  const code = formatted.extensions?.code;
  return typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR';
}

/**
 * Whether an error without a code still says it is the client's: Apollo Server
 * gives a few request errors an HTTP 4xx and no code (an unsupported
 * persisted-query version, a hash that does not match the text).
 */
function isUncodedClientError(error: unknown): boolean {
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return code === undefined && typeof status === 'number' && status >= 400 && status < 500;
}

/** graphql-js' hints naming fields, types and enum values: `Did you mean "name"?`, `Did you mean the enum value "CONFIRMED"?`. */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * Apollo Server's formatError: domain errors and Apollo's own coded errors pass
 * as they are; anything else is reported as INTERNAL_SERVER_ERROR, its message
 * masked in production (errorLoggingPlugin logs it with the request id).
 * In production no message suggests names ("Did you mean ...?"): Apollo's
 * hideSchemaDetailsFromClientErrors strips them from validation errors only,
 * not from variable values that do not fit their type.
 */
export function createErrorFormatter(production: boolean, options: DatabaseErrorOptions = {}) {
  return (shown: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const message = production ? shown.message.replace(SUGGESTION, '') : shown.message;
    const formatted = message === shown.message ? shown : { ...shown, message };
    if (isUncodedClientError(error)) return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
    if (!isUnexpected(formatted, error)) return formatted;
    if (options.database && isDatabaseUnavailable(unwrapResolverError(error))) {
      const unavailable = databaseUnavailable();
      return { ...formatted, message: unavailable.message, extensions: unavailable.extensions };
    }
    return {
      ...formatted,
      message: production ? 'Internal server error' : formatted.message,
      extensions: { ...(production ? {} : formatted.extensions), code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/** Logs every unexpected resolver error once, with the request id, before it is masked. */
export function errorLoggingPlugin(logger: Logger, options: DatabaseErrorOptions = {}): ApolloServerPlugin<{ requestId?: string }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (original instanceof DomainError || isUncodedClientError(error) || (error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR'))
              continue;
            if (options.database && isDatabaseUnavailable(original)) {
              logger.warn(
                { err: original, requestId: contextValue.requestId, operationName, path: error.path },
                'database unavailable: answered SERVICE_UNAVAILABLE',
              );
              continue;
            }
            logger.error({ err: original, requestId: contextValue.requestId, operationName, path: error.path }, 'unexpected error');
          }
        },
      };
    },
  };
}
