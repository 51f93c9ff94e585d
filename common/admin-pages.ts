import express, { type Request, type Router } from 'express';
import { ADMIN_COOKIE, ADMIN_ROLE, fail, requireAdmin, statusOf, wantsHtml, type Authenticator, type SignInReason } from './auth.ts';
import { DomainError, ForbiddenError, UnauthenticatedError } from './errors.ts';

/**
 * The operator pages' front door under /admin, for people in a browser and
 * for API clients alike: a browser without a session is sent to the sign-in
 * page and told there what went wrong; an API client keeps JSON answers.
 */

const DEFAULT_NEXT = '/admin/queues';
/** An operator page to go back to after signing in: under /admin, never another site. */
const PAGE = /^\/admin\/(?![/\\])[^\s\\]*$/;

const REASONS: Record<SignInReason, string> = {
  'signed-out': 'Sign in with an admin token to open this page.',
  'session-ended': 'Your session ended: the token expired or is no longer valid. Sign in again.',
  'not-admin': 'That token has no admin role; operator pages need one.',
  unavailable: 'The identity provider cannot be reached right now, so no token can be checked. Try again shortly.',
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function nextOf(req: Request): string {
  const next = req.query.next;
  return typeof next === 'string' && PAGE.test(next) ? next : DEFAULT_NEXT;
}

function reasonOf(req: Request): SignInReason | null {
  const reason = req.query.reason;
  return typeof reason === 'string' && Object.hasOwn(REASONS, reason) ? (reason as SignInReason) : null;
}

/** The sign-in form; `problem` is said above it (a refused page, or a refused token). */
function loginPage(next: string, problem: string | null): string {
  return `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Junction operator sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1d2330}
textarea{width:100%;font-family:monospace}.problem{background:#ffe9e9;border-left:4px solid #d33;padding:.5rem .75rem}
button{padding:.4rem 1rem}</style>
<h1>Junction operator sign-in</h1>
${problem ? `<p class="problem" role="alert" id="problem">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="login?${escapeHtml(new URLSearchParams({ next }).toString())}">
<p><label>Admin token (JWT)<br><textarea name="token" rows="6" required></textarea></label></p>
<p><button>Sign in</button> <small>then on to ${escapeHtml(next)}</small></p>
</form>
<p><small>A bearer token from your identity provider with the admin role; in development <code>npm start</code> prints one.</small></p>
</html>`;
}

/**
 * Every operator page under /admin: `GET /admin/login` shows a form (and,
 * from `reason`, why the browser was sent there), `POST /admin/login`
 * (token=<admin JWT>, form or JSON) checks the token and sets it as an
 * HttpOnly, SameSite=Strict cookie for /admin (until the token expires), then
 * redirects to `next` (default /admin/queues); a refused token is shown on
 * the form to a browser, and answered JSON 401/403 to an API client.
 * `POST /admin/logout` clears it. Everything else under /admin needs the admin
 * role (requireAdmin); a browser opening a page without it is redirected to
 * the form. Mount with `app.use('/admin', adminPages(auth))` before the pages.
 */
export function adminPages(auth: Authenticator): Router {
  const router = express.Router();
  router.get('/login', (req, res) => {
    const reason = reasonOf(req);
    res.type('html').send(loginPage(nextOf(req), reason && REASONS[reason]));
  });
  router.post('/login', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), async (req, res, next) => {
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    try {
      if (token === '') throw new UnauthenticatedError('paste an admin token (a JWT) to sign in');
      const viewer = await auth.verify(token);
      if (!viewer.roles.includes(ADMIN_ROLE)) throw new ForbiddenError('operator pages need the admin role: this token has none');
      const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).exp;
      const maxAge = typeof exp === 'number' ? Math.max(0, exp * 1000 - Date.now()) : undefined;
      res.cookie(ADMIN_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/admin', maxAge });
      res.redirect(303, nextOf(req));
    } catch (error) {
      if (!(error instanceof DomainError) || !wantsHtml(req)) return fail(res, error, next);
      res
        .status(statusOf(error))
        .type('html')
        .send(loginPage(nextOf(req), `Not signed in: ${error.message}.`));
    }
  });
  router.post('/logout', (_req, res) => {
    res.clearCookie(ADMIN_COOKIE, { path: '/admin' });
    res.json({ signedOut: true });
  });
  router.use(requireAdmin(auth, { signInPage: (req) => `${req.baseUrl}/login` }));
  return router;
}
