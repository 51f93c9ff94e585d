/**
 * Who is signed in: a bearer token from the identity provider, kept in
 * sessionStorage so a reload keeps the session and closing the tab ends it.
 *
 * The development identity provider (external/identity.ts) mints a token for
 * any `sub` and `roles` it is asked for. A real provider (OIDC) is asked
 * differently: see this folder's README, "A real identity provider".
 */
export interface Session {
  token: string;
  /** The token's subject: the Junction user id it acts for. */
  userId: string;
  roles: string[];
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

const KEY = 'junction.session';

function claimsOf(token: string): { sub?: unknown; roles?: unknown; exp?: unknown } {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json) as { sub?: unknown; roles?: unknown; exp?: unknown };
}

/** A session from a token (read, not verified: the gateway verifies it). */
export function sessionOf(token: string): Session {
  const claims = claimsOf(token);
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw new Error('the token has no sub or exp');
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((role): role is string => typeof role === 'string') : [];
  return { token, userId: claims.sub, roles, expiresAt: claims.exp * 1000 };
}

export function savedSession(): Session | null {
  const token = sessionStorage.getItem(KEY);
  if (!token) return null;
  try {
    const session = sessionOf(token);
    return session.expiresAt > Date.now() ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(KEY, session.token);
  else sessionStorage.removeItem(KEY);
}

/** A token for `userId` from the development identity provider. */
export async function devSignIn(identityUrl: string, userId: string, roles: string[]): Promise<Session> {
  const response = await fetch(`${identityUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: userId, roles, expiresIn: 3600 }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(`the identity provider refused: ${body.error ?? response.status}`);
  return sessionOf(body.token);
}

export const isAdmin = (session: Session | null) => session?.roles.includes('admin') ?? false;
