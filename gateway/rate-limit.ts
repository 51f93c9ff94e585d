import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { viewerOf } from '../common/auth.ts';
import type { GatewayConfig as Config } from './settings.ts';
import type { Logger } from '../common/logger.ts';
import { counter } from '../common/metrics.ts';
import { closeRedis, createRedis } from '../common/redis.ts';

/** A Redis command of the limiter not answered in this long lets the request through (a frozen or far Redis never holds requests up). */
export const RATE_LIMIT_REDIS_TIMEOUT_MS = 250;

/** Logs "rate limit not enforced" at most this often while Redis stays unreachable. */
const LOG_EVERY_MS = 5000;

const metrics = {
  limited: counter({ name: 'junction_gateway_rate_limited_total', help: 'Requests refused with 429 RATE_LIMITED.' }),
  unchecked: counter({
    name: 'junction_gateway_rate_limit_unavailable_total',
    help: 'Requests let through without a rate limit check because Redis could not be reached (fail open).',
  }),
};

/** Who a request counts against: the signed-in viewer (authenticate() runs first), or the client address when anonymous. */
export function rateLimitKey(req: Request, res: Response): string {
  const viewer = viewerOf(res);
  if (viewer) return `user:${viewer.id}`;
  return `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

/** What the limit says of one more request: allowed, or refused for `retryAfter` seconds. */
export type RateVerdict = { ok: true } | { ok: false; retryAfter: number; message: string };

export interface RateLimit {
  /** Express middleware for /graphql: 429 RATE_LIMITED over the limit, next() otherwise (also while Redis is down). */
  middleware: RequestHandler;
  /** Counts one request against `key` (rateLimitKey's `user:…` or `ip:…`), for transports beside HTTP (a graphql-ws subscribe). */
  check(key: string): Promise<RateVerdict>;
  /** Resolves once Redis is connected, or after CONNECT_WAIT_MS without it (requests then pass unchecked until it connects). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** How long the gateway's start waits for the limiter's Redis connection. */
const CONNECT_WAIT_MS = 3000;

type RateLimitSettings = Pick<Config, 'RATE_LIMIT_PER_MINUTE' | 'REDIS_URL' | 'QUEUE_PREFIX'>;

/**
 * RATE_LIMIT_PER_MINUTE requests a minute per viewer (per client address when
 * anonymous), counted in Redis under `<QUEUE_PREFIX>:rate-limit:` so every
 * gateway replica on that Redis shares the counters (rate-limiter-flexible,
 * fixed one-minute windows). While Redis cannot be reached requests pass:
 * commands fail at once (no offline queue) or after RATE_LIMIT_REDIS_TIMEOUT_MS,
 * junction_gateway_rate_limit_unavailable_total counts them and a warning is logged.
 * `0` turns the limit off (no Redis connection is made).
 */
export function createRateLimit(config: RateLimitSettings, logger: Logger): RateLimit {
  const points = config.RATE_LIMIT_PER_MINUTE;
  if (points === 0) return { middleware: (_req, _res, next) => next(), check: async () => ({ ok: true }), ready: Promise.resolve(), close: async () => {} };

  const redis = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'gateway-rate-limit', commandTimeoutMs: RATE_LIMIT_REDIS_TIMEOUT_MS });
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${config.QUEUE_PREFIX}:rate-limit`,
    points,
    duration: 60,
    // Not connected: fail at once instead of queueing the command.
    rejectIfRedisNotReady: true,
  });

  let lastLogged = 0;
  let uncheckedSinceLog = 0;
  function letThrough(error: unknown) {
    metrics.unchecked.inc();
    uncheckedSinceLog += 1;
    const now = Date.now();
    if (now - lastLogged < LOG_EVERY_MS) return;
    logger.warn({ err: error, requests: uncheckedSinceLog }, 'rate limit not enforced: Redis unreachable, letting requests through');
    lastLogged = now;
    uncheckedSinceLog = 0;
  }

  const check = (key: string): Promise<RateVerdict> =>
    limiter.consume(key).then(
      () => ({ ok: true }) as const,
      (rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) {
          letThrough(rejection);
          return { ok: true } as const;
        }
        metrics.limited.inc();
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        return { ok: false, retryAfter, message: `Too many requests: at most ${points} a minute; retry in ${retryAfter} s` } as const;
      },
    );

  const middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    void check(rateLimitKey(req, res)).then((verdict) => {
      if (verdict.ok) return next();
      res.setHeader('Retry-After', String(verdict.retryAfter));
      res.status(429).json({
        errors: [{ message: verdict.message, extensions: { code: 'RATE_LIMITED', retryAfter: verdict.retryAfter, limitPerMinute: points } }],
      });
    });
  };

  const ready = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CONNECT_WAIT_MS);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { middleware, check, ready, close: () => closeRedis(redis) };
}
