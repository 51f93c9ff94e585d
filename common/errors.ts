import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from './logger.ts';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

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

/** True for errors that are bugs rather than something the client can act on. */
function isUnexpected(formatted: GraphQLFormattedError, error: unknown): boolean {
  if (unwrapResolverError(error) instanceof DomainError) return false;
  const code = formatted.extensions?.code;
  return typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR';
}

/**
 * Apollo Server's formatError: domain errors and Apollo's own coded errors pass
 * as they are; anything else is reported as INTERNAL_SERVER_ERROR, its message
 * masked in production (errorLoggingPlugin logs it with the request id).
 */
export function createErrorFormatter(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (!isUnexpected(formatted, error)) return formatted;
    return {
      ...formatted,
      message: production ? 'Internal server error' : formatted.message,
      extensions: { ...(production ? {} : formatted.extensions), code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/** Logs every unexpected resolver error once, with the request id, before it is masked. */
export function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<{ requestId?: string }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (original instanceof DomainError || (error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR')) continue;
            logger.error({ err: original, requestId: contextValue.requestId, operationName, path: error.path }, 'unexpected error');
          }
        },
      };
    },
  };
}
