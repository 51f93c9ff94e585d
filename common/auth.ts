import { timingSafeEqual } from 'node:crypto';
import { parseCookie } from 'cookie';
import type { RequestHandler, Request, Response } from 'express';
import { createRemoteJWKSet, errors as jose, jwtVerify, type JWTPayload } from 'jose';
import { DomainError, ForbiddenError, ServiceUnavailableError, UnauthenticatedError } from './errors.ts';
import { isUuid } from './ids.ts';

/**
 * Sign-in for every service: bearer JWTs verified against an identity
 * provider's JWKS, the viewer they name, and the few checks resolvers and
 * operator pages make with it. Nothing here knows a domain type.
 */

/** Asymmetric algorithms only: never `none`, never an HMAC secret taken from a public key. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Clock skew accepted on exp / nbf / iat, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The role that makes a viewer an operator. */
export const ADMIN_ROLE = 'admin';

/** Header the workers send to subgraphs' internal operations (SERVICE_API_KEY). */
export const SERVICE_KEY_HEADER = 'x-service-key';

/** Cookie set by /admin/login so a browser can open operator pages. */
export const ADMIN_COOKIE = 'junction_admin';

/** Who a request acts for: the user id and roles of a verified token, and the token itself (forwarded to subgraphs). */
export interface Viewer {
  id: string;
  roles: readonly string[];
  token: string;
}

/** The AUTH_* settings (see common/config.ts). */
export interface AuthSettings {
  AUTH_JWKS_URL: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
  AUTH_USER_CLAIM: string;
  AUTH_ROLES_CLAIM: string;
}

/** A token was sent but cannot be trusted: HTTP 401. */
export class BadTokenError extends UnauthenticatedError {
  constructor(reason: string) {
    super(`invalid bearer token: ${reason}`);
  }
}

export interface Authenticator {
  readonly settings: AuthSettings;
  /** The viewer a token names; BadTokenError when it is not valid, ServiceUnavailableError when the JWKS cannot be fetched. */
  verify(token: string): Promise<Viewer>;
  /** The viewer of an Authorization header value: null when absent, BadTokenError when present but bad. */
  viewerOf(authorization: string | undefined): Promise<Viewer | null>;
}

export interface AuthenticatorOptions {
  /** Least time between two JWKS fetches for an unknown kid (jose's cooldownDuration). Default 30 s. */
  cooldownMs?: number;
  /** Longest wait for the JWKS. Default 5 s. */
  timeoutMs?: number;
  /** The current time, ms since the epoch (tests move it). Default Date.now. */
  now?: () => number;
}

/**
 * How long a token that verified is taken again without checking its
 * signature (never past its exp and the clock tolerance): a signed-in client
 * sends the same token with every request, and verifying its signature was
 * about a seventh of the gateway's and a subgraph's CPU per request. Shorter
 * than jose's JWKS cache (10 minutes), so a key the provider withdraws stops
 * working about as soon as it did without this.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Most tokens kept verified per process (the oldest goes first). */
const VERIFIED_TOKENS_MAX = 10_000;

/** A claim by exact name (e.g. `https://example.com/roles`, `cognito:groups`), else by dotted path (`realm_access.roles`). */
function claim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function rolesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((role): role is string => typeof role === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** Whether a failure is the identity provider's (JWKS unreachable or broken) rather than the token's. */
function isProviderFailure(error: unknown): boolean {
  if (error instanceof jose.JWKSTimeout || error instanceof jose.JWKSInvalid) return true;
  if (error instanceof jose.JOSEError) return /JSON Web Key Set HTTP response/.test(error.message);
  return true;
}

function reasonOf(error: unknown): string {
  if (error instanceof jose.JWTExpired) return 'expired';
  if (error instanceof jose.JWTClaimValidationFailed) return `claim "${error.claim}" ${error.reason === 'check_failed' ? 'does not match' : error.reason}`;
  if (error instanceof jose.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof jose.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (error instanceof jose.JWKSNoMatchingKey) return 'signed by an unknown key';
  return 'malformed';
}

const authenticators = new Map<string, Authenticator>();

/**
 * Verifies bearer JWTs against the JWKS at AUTH_JWKS_URL (cached by jose and
 * fetched again for an unknown kid), with AUTH_ISSUER and AUTH_AUDIENCE.
 * One per settings in a process, so every service in it shares the key cache.
 */
export function createAuthenticator(settings: AuthSettings, options: AuthenticatorOptions = {}): Authenticator {
  const key = JSON.stringify([
    settings.AUTH_JWKS_URL,
    settings.AUTH_ISSUER,
    settings.AUTH_AUDIENCE,
    settings.AUTH_USER_CLAIM,
    settings.AUTH_ROLES_CLAIM,
    options,
  ]);
  // One with a clock of its own (a test's) is not shared.
  const existing = options.now ? undefined : authenticators.get(key);
  if (existing) return existing;
  const jwks = createRemoteJWKSet(new URL(settings.AUTH_JWKS_URL), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
  const now = options.now ?? Date.now;
  const verified = new Map<string, { viewer: Viewer; until: number }>();
  const verify = async (token: string): Promise<Viewer> => {
    const at = now();
    const known = verified.get(token);
    if (known && at < known.until) return known.viewer;
    verified.delete(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        currentDate: new Date(at),
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: settings.AUTH_ISSUER,
        audience: settings.AUTH_AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // A token that never expires would be a credential for ever.
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof jose.JOSEError && !isProviderFailure(error)) throw new BadTokenError(reasonOf(error));
      throw new ServiceUnavailableError(`the identity provider's keys cannot be fetched: ${(error as Error).message}`, 5);
    }
    const id = claim(payload, settings.AUTH_USER_CLAIM);
    if ((typeof id !== 'string' || id === '') && typeof id !== 'number') throw new BadTokenError(`no "${settings.AUTH_USER_CLAIM}" claim`);
    const viewer: Viewer = Object.freeze({ id: String(id), roles: Object.freeze(rolesOf(claim(payload, settings.AUTH_ROLES_CLAIM))), token });
    // jose refuses a token once now - tolerance >= exp (requiredClaims makes exp a number).
    const until = Math.min(at + VERIFIED_TOKEN_TTL_MS, (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { viewer, until });
    return viewer;
  };
  const authenticator: Authenticator = {
    settings,
    verify,
    async viewerOf(authorization) {
      if (authorization === undefined) return null;
      const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
      if (!match) throw new BadTokenError('expected "Authorization: Bearer <JWT>"');
      return verify(match[1]!);
    },
  };
  if (!options.now) authenticators.set(key, authenticator);
  return authenticator;
}

/** The body of an error answer, as GraphQL clients read it. */
function errorBody(error: DomainError) {
  return { errors: [{ message: error.message, extensions: error.extensions }] };
}

/** The HTTP status of an auth failure: 503 when the identity provider cannot be reached, 403 without the role, else 401. */
export function statusOf(error: unknown): number {
  if (error instanceof ServiceUnavailableError) return 503;
  if (error instanceof ForbiddenError) return 403;
  return 401;
}

/** Answers an auth failure as GraphQL clients read it: 401 (with WWW-Authenticate), 403 or 503 (with Retry-After). */
export function fail(res: Response, error: unknown, next: (error?: unknown) => void): void {
  if (!(error instanceof DomainError)) return next(error);
  if (error instanceof ServiceUnavailableError) res.setHeader('Retry-After', String(error.extensions.retryAfter));
  if (statusOf(error) === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(statusOf(error)).json(errorBody(error));
}

/** The viewer `authenticate` stored for this request (null when anonymous). */
export function viewerOf(res: Response): Viewer | null {
  return (res.locals.viewer as Viewer | null | undefined) ?? null;
}

export interface AuthenticateOptions {
  /**
   * Runs before a bad token is answered 401, as anonymous (`res.locals.viewer`
   * null); it answers the request itself, or calls next() to let the 401 go.
   * The gateway's rate limit, so a flood of bad tokens is counted against its address.
   */
  beforeRejecting?: RequestHandler;
}

/**
 * Express middleware: verifies `Authorization: Bearer` and stores the viewer
 * in `res.locals.viewer` (null when there is no token). A token that is
 * present but bad is answered HTTP 401 UNAUTHENTICATED (after `beforeRejecting`).
 */
export function authenticate(auth: Authenticator, options: AuthenticateOptions = {}): RequestHandler {
  return (req, res, next) => {
    auth.viewerOf(req.get('authorization')).then(
      (viewer) => {
        res.locals.viewer = viewer;
        next();
      },
      (error) => {
        if (!(error instanceof BadTokenError) || !options.beforeRejecting) return fail(res, error, next);
        res.locals.viewer = null;
        options.beforeRejecting(req, res, () => fail(res, error, next));
      },
    );
  };
}

/** The admin token a browser holds in the cookie /admin/login sets (read with the `cookie` package). */
function sessionCookie(req: Request): string | undefined {
  const header = req.get('cookie');
  return header ? parseCookie(header)[ADMIN_COOKIE] : undefined;
}

/** Why an operator page was refused, as the sign-in page explains it (common/admin-pages.ts). */
export type SignInReason = 'signed-out' | 'session-ended' | 'not-admin' | 'unavailable';

function reasonOfRefusal(error: unknown, fromCookie: boolean): SignInReason {
  if (error instanceof ServiceUnavailableError) return 'unavailable';
  if (error instanceof ForbiddenError) return 'not-admin';
  return fromCookie && error instanceof BadTokenError ? 'session-ended' : 'signed-out';
}

export interface RequireAdminOptions {
  /**
   * The sign-in page: a browser opening a page (GET, Accept: text/html) is
   * redirected there (303, with `next` and `reason`) instead of answered JSON.
   * API clients keep the JSON 401/403.
   */
  signInPage?: (req: Request) => string;
}

/** Whether a request is a browser opening a page rather than an API call (Accept prefers HTML over JSON). */
export function wantsHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/**
 * Express middleware for operator pages: an admin's bearer token (or the
 * cookie /admin/login sets) passes with the viewer in `res.locals.viewer`;
 * anonymous or a bad token: 401; a signed-in user without the admin role: 403;
 * a browser opening a page goes to `signInPage` instead when given.
 */
export function requireAdmin(auth: Authenticator, options: RequireAdminOptions = {}): RequestHandler {
  return (req, res, next) => {
    const header = req.get('authorization');
    const fromCookie = header === undefined ? sessionCookie(req) : undefined;
    auth
      .viewerOf(header ?? (fromCookie ? `Bearer ${fromCookie}` : undefined))
      .then((viewer) => {
        if (!viewer) throw new UnauthenticatedError('operator pages need an admin bearer token (or sign in at /admin/login)');
        if (!viewer.roles.includes(ADMIN_ROLE)) throw new ForbiddenError('operator pages need the admin role');
        res.locals.viewer = viewer;
        next();
      })
      .catch((error) => {
        if (!options.signInPage || !(error instanceof DomainError) || req.method !== 'GET' || !wantsHtml(req)) return fail(res, error, next);
        const reason = reasonOfRefusal(error, fromCookie !== undefined);
        // An expired or refused cookie is dropped, so the next visit starts signed out.
        if (reason === 'session-ended') res.clearCookie(ADMIN_COOKIE, { path: '/admin' });
        res.redirect(303, `${options.signInPage(req)}?${new URLSearchParams({ next: req.originalUrl, reason })}`);
      });
  };
}

/**
 * Express middleware for internal endpoints (/internal/*): the workers'
 * service key in X-Service-Key, or an admin token; else 401 (anonymous or a
 * bad token) or 403 (a user).
 */
export function requireServiceCaller(auth: Authenticator, serviceKey: string): RequestHandler {
  const admin = requireAdmin(auth);
  return (req, res, next) => {
    if (isServiceKey(req.get(SERVICE_KEY_HEADER), serviceKey)) return next();
    if (req.get(SERVICE_KEY_HEADER) !== undefined && req.get('authorization') === undefined) {
      return fail(res, new UnauthenticatedError('wrong service key'), next);
    }
    admin(req, res, next);
  };
}

/** Whether `key` equals the expected service key (constant time). */
export function isServiceKey(key: string | undefined, expected: string): boolean {
  if (!key) return false;
  const a = Buffer.from(key);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------- checks for resolvers

/** What the checks need from a request's context. */
export interface AccessContext {
  viewer: Viewer | null;
  /** The caller holds the service identity (SERVICE_API_KEY): the workers. */
  service?: boolean;
}

export function isAdmin(ctx: AccessContext): boolean {
  return ctx.viewer?.roles.includes(ADMIN_ROLE) ?? false;
}

/** Whether two user ids name the same user (UUIDs compare case-insensitively). */
export function sameId(a: string, b: string): boolean {
  return a === b || (isUuid(a) && isUuid(b) && a.toLowerCase() === b.toLowerCase());
}

/** (viewer): the signed-in viewer, else UNAUTHENTICATED. */
export function requireViewer(ctx: AccessContext): Viewer {
  if (!ctx.viewer) throw new UnauthenticatedError('sign in first: send Authorization: Bearer <JWT>');
  return ctx.viewer;
}

/** (admin): FORBIDDEN for a user without the role, UNAUTHENTICATED when anonymous. */
export function requireAdminRole(ctx: AccessContext): Viewer {
  const viewer = requireViewer(ctx);
  if (!isAdmin(ctx)) throw new ForbiddenError('this needs the admin role');
  return viewer;
}

/** Internal operations: the workers' service identity or an admin. */
export function requireService(ctx: AccessContext): void {
  if (ctx.service) return;
  requireAdminRole(ctx);
}

/** (self): whether the viewer may see data owned by `ownerId` (their own, or an admin). */
export function canSee(ctx: AccessContext, ownerId: string | null | undefined): boolean {
  if (isAdmin(ctx)) return true;
  return Boolean(ctx.viewer && ownerId && sameId(ctx.viewer.id, ownerId));
}

/** `row` when the caller may see it (its owner, or an admin); otherwise null, as if it did not exist. */
export function ifVisible<T extends { userId: string | null }>(ctx: AccessContext, row: T | null | undefined): T | null {
  return row && canSee(ctx, row.userId) ? row : null;
}

/** (self) on a field of an object owned by `ownerId`: UNAUTHENTICATED when anonymous, FORBIDDEN for someone else's. */
export function requireSelf(ctx: AccessContext, ownerId: string): void {
  requireViewer(ctx);
  if (!canSee(ctx, ownerId)) throw new ForbiddenError("this is another user's data");
}

/**
 * The user id a mutation or filter acts for: `userId` when given, else the
 * viewer's. Acting for someone else needs the admin role (FORBIDDEN).
 */
export function actingFor(ctx: AccessContext, userId: string | null | undefined): string {
  const viewer = requireViewer(ctx);
  if (userId === null || userId === undefined) return viewer.id;
  if (!canSee(ctx, userId)) throw new ForbiddenError('acting for another user needs the admin role');
  return userId;
}
