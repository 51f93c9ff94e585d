import type { RequestHandler } from 'express';
import type { GatewayConfig as Config } from '../settings.ts';

type CorsSettings = Pick<Config, 'CORS_ORIGINS' | 'NODE_ENV'>;

/** Any port of this machine's loopback names, over plain HTTP: a developer's app server (NODE_ENV=development only). */
const LOCAL_DEVELOPMENT_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

/** A preflight's Access-Control-Request-Headers: header names, comma-separated. Anything else is not echoed back. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** How long a browser may reuse a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Headers a browser app may read from an answer besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'X-Request-ID, X-Correlation-ID, Retry-After, WWW-Authenticate';

/** Whether a browser page of `origin` may call the gateway: listed in CORS_ORIGINS, or a local one in development. */
export function isAllowedOrigin(settings: CorsSettings, origin: string | undefined): origin is string {
  if (!origin) return false;
  if (settings.CORS_ORIGINS.includes(origin)) return true;
  return settings.NODE_ENV === 'development' && LOCAL_DEVELOPMENT_ORIGIN.test(origin);
}

/**
 * CORS for /graphql (docs/api/persisted-operations.md, "Browsers"): a listed
 * origin gets Access-Control-Allow-Origin (its own, never `*`) with
 * credentials, and its preflight is answered 204 with the methods GET and POST
 * and the headers it asked for. Any other origin gets no CORS header, so the
 * browser hides the answer from its page, and its preflight is refused 403.
 * Runs before authentication and the rate limit, so a preflight (which carries
 * no token) is never counted or refused for one.
 */
export function cors(settings: CorsSettings): RequestHandler {
  return (req, res, next) => {
    // The answer depends on Origin: a cache must not hand one origin's answer to another.
    res.vary('Origin');
    const origin = req.get('origin');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!isAllowedOrigin(settings, origin)) {
      if (!preflight) return next();
      res.status(403).json({
        errors: [
          { message: `origin ${origin ?? '(none)'} may not call this API from a browser: it is not in CORS_ORIGINS`, extensions: { code: 'FORBIDDEN' } },
        ],
      });
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    const asked = req.get('access-control-request-headers')?.trim();
    if (asked && HEADER_LIST.test(asked)) res.setHeader('Access-Control-Allow-Headers', asked);
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}
