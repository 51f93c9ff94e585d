import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from './logger.ts';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestIds {
  requestId: string;
  correlationId: string;
}

/** The request and correlation ids a caller sent (either may be absent or unusable), with a fresh request id when it sent none. */
export function requestIdsOf(given: unknown, correlation: unknown): RequestIds {
  const requestId = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  const correlationId = typeof correlation === 'string' && SAFE_ID.test(correlation) ? correlation : requestId;
  return { requestId, correlationId };
}

/** Reads X-Request-ID (generated when absent or unusable) and X-Correlation-ID; echoes both. */
export const requestIds: RequestHandler = (req, res, next) => {
  const { requestId, correlationId } = requestIdsOf(req.get('x-request-id'), req.get('x-correlation-id'));
  res.locals.ids = { requestId, correlationId } satisfies RequestIds;
  res.setHeader('X-Request-ID', requestId);
  res.setHeader('X-Correlation-ID', correlationId);
  next();
};

export function idsOf(res: { locals: Record<string, unknown> }): RequestIds {
  return res.locals.ids as RequestIds;
}

const MALFORMED = { message: 'malformed request body: expected JSON', extensions: { code: 'BAD_REQUEST' } };
const INTERNAL = { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };

/** body-parser's 413: the body is larger than the route's limit (it says both in bytes). */
function tooLarge(error: { limit?: unknown }) {
  const limit = typeof error.limit === 'number' ? error.limit : undefined;
  return {
    message: `request body too large${limit ? `: at most ${limit} bytes` : ''}`,
    extensions: { code: 'PAYLOAD_TOO_LARGE', ...(limit ? { limitBytes: limit } : {}) },
  };
}

/** Turns body-parser and routing errors into JSON 4xx answers instead of express's HTML 500. */
export function jsonErrors(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status >= 500) logger.error({ err: error, requestId: res.locals.ids?.requestId }, 'unhandled HTTP error');
    if (res.headersSent) return;
    res.status(status).json({
      errors: [
        status === 413
          ? tooLarge(error)
          : status === 400
            ? MALFORMED
            : status >= 500
              ? INTERNAL
              : { message: String(error.message), extensions: { code: 'BAD_REQUEST' } },
      ],
    });
  };
}

/** An express app that sets request ids; add routes (each with its own body parser), then `app.use(jsonErrors(logger))` last. */
export function createApp(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestIds);
  return app;
}

export interface Listening {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on `port` (0 picks a free one); close() stops accepting and ends idle keep-alive sockets. */
export async function listen(app: Express | Parameters<typeof createServer>[1], port: number, host?: string): Promise<Listening> {
  const server = createServer(app as Parameters<typeof createServer>[1]);
  // Keep idle sockets longer than clients' pools do, so a client never reuses a
  // socket the server is closing (the ECONNRESET / "socket hang up" race).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      return closing;
    },
  };
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
