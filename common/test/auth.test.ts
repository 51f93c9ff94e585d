import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// jose's jwtVerify as it is, counted: the tests see when a signature is checked.
const jwtVerifySpy = vi.hoisted(() => vi.fn());
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  jwtVerifySpy.mockImplementation(jose.jwtVerify);
  return { ...jose, jwtVerify: jwtVerifySpy };
});
import {
  actingFor,
  authenticate,
  BadTokenError,
  canSee,
  createAuthenticator,
  requireAdmin,
  requireAdminRole,
  requireSelf,
  requireService,
  requireViewer,
  viewerOf,
  type Authenticator,
  type AuthSettings,
  VERIFIED_TOKEN_TTL_MS,
} from '../auth.ts';
import { adminPages } from '../admin-pages.ts';
import { ServiceUnavailableError } from '../errors.ts';
import { createApp, listen, type Listening } from '../http.ts';
import { startTestIdentity, type TestIdentity } from '../../test/support/identity.ts';

let idp: TestIdentity;
let auth: Authenticator;
let settings: AuthSettings;

beforeAll(async () => {
  idp = await startTestIdentity();
  settings = { ...idp.env, AUTH_USER_CLAIM: 'sub', AUTH_ROLES_CLAIM: 'roles' };
  auth = createAuthenticator(settings, { cooldownMs: 0 });
});

afterAll(async () => {
  await idp?.close();
});

describe('verifying bearer tokens against a JWKS over HTTP', () => {
  it('a valid token names its viewer, with roles and the token itself', async () => {
    const id = randomUUID();
    const token = await idp.token(id, { roles: ['admin', 'support'] });
    await expect(auth.verify(token)).resolves.toEqual({ id, roles: ['admin', 'support'], token });
    await expect(auth.viewerOf(`Bearer ${token}`)).resolves.toMatchObject({ id });
    await expect(auth.viewerOf(`bearer   ${token}`)).resolves.toMatchObject({ id });
  });

  it('no Authorization header is anonymous', async () => {
    await expect(auth.viewerOf(undefined)).resolves.toBeNull();
  });

  it('refuses every kind of bad token with UNAUTHENTICATED', async () => {
    const bad = await idp.badTokens(randomUUID());
    expect(Object.keys(bad).length).toBeGreaterThanOrEqual(10);
    for (const [kind, token] of Object.entries(bad)) {
      const error = await auth.verify(token).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, kind).toBeInstanceOf(BadTokenError);
      expect((error as BadTokenError).extensions.code, kind).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a header that is not a bearer token', async () => {
    const token = await idp.token(randomUUID());
    for (const header of ['', 'Bearer', 'Bearer ', `Basic ${token}`, `Token ${token}`, `Bearer ${token} extra`]) {
      await expect(auth.viewerOf(header), header).rejects.toBeInstanceOf(BadTokenError);
    }
  });

  it('accepts a token expired for less than the clock tolerance, not one expired longer', async () => {
    await expect(auth.verify(await idp.token('u1', { expiresIn: -10 }))).resolves.toMatchObject({ id: 'u1' });
    await expect(auth.verify(await idp.token('u1', { expiresIn: -61 }))).rejects.toBeInstanceOf(BadTokenError);
  });

  it('takes a token that verified on trust for a minute at most, and never past its expiry', async () => {
    let clock = Date.now();
    const timed = createAuthenticator(settings, { now: () => clock });
    const token = await idp.token('u2', { expiresIn: 90 });
    const first = await timed.verify(token);
    const verifies = jwtVerifySpy.mock.calls.length;
    await expect(timed.verify(token)).resolves.toBe(first);
    expect(jwtVerifySpy.mock.calls.length).toBe(verifies);
    // Past the minute its signature is checked again (and still holds: it expires at 90 s).
    clock += VERIFIED_TOKEN_TTL_MS + 1;
    await expect(timed.verify(token)).resolves.toEqual(first);
    expect(jwtVerifySpy.mock.calls.length).toBe(verifies + 1);
    // Cached again at 60 s, but refused once its 90 s and the 30 s of tolerance have passed.
    clock += 61_000;
    await expect(timed.verify(token)).rejects.toBeInstanceOf(BadTokenError);
    // A token that was refused is not remembered as good.
    await expect(timed.verify(token)).rejects.toThrow(/expired/);
  });

  it('fetches the JWKS again for an unknown kid (key rotation)', async () => {
    await expect(auth.verify(await idp.token('before'))).resolves.toMatchObject({ id: 'before' });
    idp.rotate();
    await expect(auth.verify(await idp.token('after'))).resolves.toMatchObject({ id: 'after' });
  });

  it('reads the user and roles from configured claims: exact names, dotted paths and space-separated strings', async () => {
    const custom = createAuthenticator({ ...settings, AUTH_USER_CLAIM: 'https://junction.example/uid', AUTH_ROLES_CLAIM: 'realm_access.roles' });
    const token = await idp.token('ignored', { claims: { 'https://junction.example/uid': 'u-42', realm_access: { roles: ['admin'] } } });
    await expect(custom.verify(token)).resolves.toMatchObject({ id: 'u-42', roles: ['admin'] });
    const cognito = createAuthenticator({ ...settings, AUTH_ROLES_CLAIM: 'scope' });
    await expect(cognito.verify(await idp.token('u7', { claims: { scope: 'read admin' } }))).resolves.toMatchObject({ id: 'u7', roles: ['read', 'admin'] });
    // A token without the configured user claim names nobody.
    await expect(custom.verify(await idp.token('u1'))).rejects.toBeInstanceOf(BadTokenError);
  });

  it('a JWKS that cannot be fetched is SERVICE_UNAVAILABLE, not the token’s fault', async () => {
    const down = createAuthenticator({ ...settings, AUTH_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json' }, { timeoutMs: 500 });
    const error = await down.verify(await idp.token('u1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
  });
});

describe('checks for resolvers', () => {
  const alice = { id: randomUUID(), roles: [], token: 't' };
  const admin = { id: randomUUID(), roles: ['admin'], token: 't' };
  const code = (fn: () => unknown) => {
    try {
      fn();
      return 'ok';
    } catch (error) {
      return (error as { extensions?: { code?: string } }).extensions?.code;
    }
  };

  it('viewer, admin, self and acting for another user', () => {
    const other = randomUUID();
    expect(code(() => requireViewer({ viewer: null }))).toBe('UNAUTHENTICATED');
    expect(code(() => requireViewer({ viewer: alice }))).toBe('ok');
    expect(code(() => requireAdminRole({ viewer: null }))).toBe('UNAUTHENTICATED');
    expect(code(() => requireAdminRole({ viewer: alice }))).toBe('FORBIDDEN');
    expect(code(() => requireAdminRole({ viewer: admin }))).toBe('ok');
    expect(canSee({ viewer: alice }, alice.id.toUpperCase())).toBe(true);
    expect(canSee({ viewer: alice }, other)).toBe(false);
    expect(canSee({ viewer: null }, other)).toBe(false);
    expect(canSee({ viewer: admin }, other)).toBe(true);
    expect(code(() => requireSelf({ viewer: alice }, other))).toBe('FORBIDDEN');
    expect(code(() => requireSelf({ viewer: null }, other))).toBe('UNAUTHENTICATED');
    expect(actingFor({ viewer: alice }, undefined)).toBe(alice.id);
    expect(actingFor({ viewer: alice }, null)).toBe(alice.id);
    expect(actingFor({ viewer: alice }, alice.id)).toBe(alice.id);
    expect(code(() => actingFor({ viewer: alice }, other))).toBe('FORBIDDEN');
    expect(code(() => actingFor({ viewer: null }, undefined))).toBe('UNAUTHENTICATED');
    expect(actingFor({ viewer: admin }, other)).toBe(other);
    expect(code(() => requireService({ viewer: null }))).toBe('UNAUTHENTICATED');
    expect(code(() => requireService({ viewer: alice }))).toBe('FORBIDDEN');
    expect(code(() => requireService({ viewer: null, service: true }))).toBe('ok');
    expect(code(() => requireService({ viewer: admin }))).toBe('ok');
  });
});

describe('express middleware', () => {
  let http: Listening;

  beforeAll(async () => {
    const app = createApp();
    app.get('/who', authenticate(auth), (_req, res) => {
      res.json({ viewer: viewerOf(res)?.id ?? null });
    });
    app.use('/admin', adminPages(auth));
    app.get('/admin/queues', (_req, res) => {
      res.json({ page: 'queues', viewer: viewerOf(res)?.id });
    });
    app.get('/ops', requireAdmin(auth), (_req, res) => {
      res.json({ ok: true });
    });
    http = await listen(app, 0, '127.0.0.1');
  });

  afterAll(async () => {
    await http?.close();
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${http.url}${path}`, { headers, redirect: 'manual' });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: response.headers };
  };

  it('authenticate stores the viewer; anonymous passes; a bad token is 401 UNAUTHENTICATED', async () => {
    const id = randomUUID();
    expect((await get('/who', { authorization: `Bearer ${await idp.token(id)}` })).body).toEqual({ viewer: id });
    expect((await get('/who')).body).toEqual({ viewer: null });
    const bad = await get('/who', { authorization: 'Bearer nonsense' });
    expect(bad.status).toBe(401);
    expect(bad.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(bad.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('requireAdmin: 401 anonymous or bad token, 403 for a user, the page for an admin', async () => {
    for (const path of ['/ops', '/admin/queues']) {
      expect((await get(path)).status, path).toBe(401);
      expect((await get(path, { authorization: 'Bearer nonsense' })).status, path).toBe(401);
      expect((await get(path, { authorization: `Bearer ${(await idp.badTokens('x')).expired}` })).status, path).toBe(401);
      const user = await get(path, await idp.headers(randomUUID()));
      expect(user.status, path).toBe(403);
      expect(user.body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await get(path, { authorization: `Bearer ${await idp.adminToken()}` })).status, path).toBe(200);
    }
  });

  it('a browser signs in at /admin/login: the admin token becomes an HttpOnly cookie that opens /admin pages', async () => {
    expect((await get('/admin/login')).body).toContain('<form');
    const adminId = randomUUID();
    const token = await idp.adminToken(adminId);
    const login = await fetch(`${http.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/admin/queues');
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^junction_admin=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/admin/i);
    const cookie = setCookie.split(';')[0]!;
    const page = await get('/admin/queues', { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ page: 'queues', viewer: adminId });
    // A made-up cookie, or a user's token, does not sign in.
    expect((await get('/admin/queues', { cookie: 'junction_admin=forged' })).status).toBe(401);
    const userLogin = await fetch(`${http.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: await idp.token(randomUUID()) }),
      redirect: 'manual',
    });
    expect(userLogin.status).toBe(403);
    expect(userLogin.headers.get('set-cookie')).toBeNull();
    const garbage = await fetch(`${http.url}/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', redirect: 'manual' });
    expect(garbage.status).toBe(401);
  });

  const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const signInRedirect = (response: { status: number; headers: Headers }) => {
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!, http.url);
    expect(location.pathname).toBe('/admin/login');
    return Object.fromEntries(location.searchParams);
  };

  it('a browser opening an operator page without a session is sent to the sign-in page, told why; API clients keep JSON', async () => {
    expect(signInRedirect(await get('/admin/queues?status=failed', BROWSER))).toEqual({ next: '/admin/queues?status=failed', reason: 'signed-out' });
    // An expired session cookie: sent back to sign in, and the cookie is cleared.
    const expired = await get('/admin/queues', { ...BROWSER, cookie: `junction_admin=${(await idp.badTokens('x')).expired}` });
    expect(signInRedirect(expired)).toEqual({ next: '/admin/queues', reason: 'session-ended' });
    expect(expired.headers.get('set-cookie')).toMatch(/^junction_admin=;.*Expires=Thu, 01 Jan 1970/i);
    const user = await get('/admin/queues', { ...BROWSER, cookie: `junction_admin=${await idp.token(randomUUID())}` });
    expect(signInRedirect(user)).toEqual({ next: '/admin/queues', reason: 'not-admin' });
    // The page says why.
    const page = await get('/admin/login?next=%2Fadmin%2Fqueues&reason=session-ended', BROWSER);
    expect(page.body).toContain('Your session ended');
    expect(page.body).toContain('action="login?next=%2Fadmin%2Fqueues"');
    // fetch's Accept: */* and JSON clients get JSON; so does anything but GET.
    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }] as Record<string, string>[]) {
      const api = await get('/admin/queues', headers);
      expect(api.status).toBe(401);
      expect(api.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const post = await fetch(`${http.url}/admin/queues`, { method: 'POST', headers: BROWSER, redirect: 'manual' });
    expect(post.status).toBe(401);
    // An API-only route (requireAdmin without a sign-in page) never redirects.
    expect((await get('/ops', BROWSER)).status).toBe(401);
  });

  it('a refused sign-in from the form is shown on the sign-in page (API clients keep JSON); next never leaves /admin', async () => {
    const form = (token: string, next = '/admin/queues', headers: Record<string, string> = BROWSER) =>
      fetch(`${http.url}/admin/login?${new URLSearchParams({ next })}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ token }),
        redirect: 'manual',
      });
    const expired = await form((await idp.badTokens('x')).expired!);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('content-type')).toMatch(/^text\/html/);
    const expiredPage = await expired.text();
    expect(expiredPage).toContain('Not signed in: invalid bearer token: expired.');
    expect(expiredPage).toContain('<form');
    const user = await form(await idp.token(randomUUID()));
    expect(user.status).toBe(403);
    expect(await user.text()).toContain('operator pages need the admin role');
    expect(user.headers.get('set-cookie')).toBeNull();
    const empty = await form('');
    expect(await empty.text()).toContain('paste an admin token');
    // Markup in what comes back is text, not markup.
    const hostile = await get(`/admin/login?${new URLSearchParams({ next: '/admin/"><script>alert(1)</script>' })}`, BROWSER);
    expect(hostile.body).not.toContain('<script>');
    const json = await form('nonsense', '/admin/queues', { accept: 'application/json' });
    expect(json.status).toBe(401);
    expect((await json.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // After signing in: on to next, but only to a page under /admin.
    const token = await idp.adminToken();
    expect((await form(token, '/admin/backups')).headers.get('location')).toBe('/admin/backups');
    for (const elsewhere of ['https://evil.example/', '//evil.example/admin/', '/admin//evil.example', '/admin/\\evil.example', '/other']) {
      expect((await form(token, elsewhere)).headers.get('location'), elsewhere).toBe('/admin/queues');
    }
  });

  it('reads the session cookie among others, encoded or not (the cookie package)', async () => {
    const adminId = randomUUID();
    const token = await idp.adminToken(adminId);
    for (const cookie of [`a=1; junction_admin=${token}; b=2`, `junction_admin=${encodeURIComponent(token)}`]) {
      const page = await get('/admin/queues', { cookie });
      expect(page.status, cookie).toBe(200);
      expect(page.body).toEqual({ page: 'queues', viewer: adminId });
    }
    expect((await get('/admin/queues', { cookie: `not_junction_admin=${token}` })).status).toBe(401);
  });
});
