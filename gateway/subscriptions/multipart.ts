import type { Request, Response } from 'express';
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { writable } from '../../common/subscriptions/sse.ts';

/** Whether the request asks for Apollo's multipart HTTP subscriptions (`Accept: multipart/mixed;subscriptionSpec="1.0"`, as Apollo Client's HttpLink sends for a subscription). */
export function acceptsMultipartSubscription(req: Request): boolean {
  return (req.get('accept') ?? '').split(',').some((part) => {
    const [type, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    return type === 'multipart/mixed' && params.some((param) => param.replace(/"/g, '') === 'subscriptionspec=1.0');
  });
}

export const MULTIPART_CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"';

const BOUNDARY = '\r\n--graphql';
/** One part: its headers and JSON, closed by the next boundary at once so a client reads it without waiting for the next part. */
const part = (json: unknown) => `\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(json)}${BOUNDARY}`;

/**
 * Writes a subscription's results as Apollo's multipart HTTP subscription
 * protocol: each result is a part `{"payload": result}`, a `{}` part every
 * `heartbeatMs` keeps the connection open, a failure of the stream itself is
 * `{"payload": null, "errors": [...]}`, and the body ends with the closing
 * boundary when the stream does. It writes as the client reads: a result
 * waits while the socket is backed up (the subscription's bounded queue fills
 * meanwhile), and a client that takes nothing for a whole heartbeat while
 * parts wait is disconnected.
 */
export async function writeMultipart(
  res: Response,
  results: AsyncGenerator<ExecutionResult, unknown, unknown>,
  options: { heartbeatMs: number; format(result: ExecutionResult): unknown; formatError(error: unknown): GraphQLFormattedError },
): Promise<void> {
  res.writeHead(200, { 'content-type': MULTIPART_CONTENT_TYPE, 'cache-control': 'no-cache, no-store', 'x-accel-buffering': 'no' });
  res.write(BOUNDARY);
  res.write(part({}));
  let gone = false;
  res.once('close', () => {
    gone = true;
    void results.return(undefined);
  });
  let waiting = Infinity;
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) {
      waiting = Infinity;
      res.write(part({}));
      return;
    }
    const buffered = res.socket?.writableLength ?? 0;
    if (buffered >= waiting) res.destroy();
    waiting = buffered;
  }, options.heartbeatMs);
  try {
    for await (const result of results) {
      if (gone) break;
      if (!res.write(part({ payload: options.format(result) }))) await writable(res);
    }
  } catch (error) {
    if (!gone) res.write(part({ payload: null, errors: [options.formatError(error)] }));
  } finally {
    clearInterval(heartbeat);
    if (!gone) {
      res.end('--\r\n');
      // A client that does not read the last parts either is cut off after a heartbeat instead of holding them.
      if (!res.writableFinished) setTimeout(() => res.writableFinished || res.destroy(), options.heartbeatMs).unref();
    }
  }
}
