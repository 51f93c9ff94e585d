import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { createApp, listen, type Listening } from '../../common/http.ts';
import { IdentityProvider, type MintOptions } from '../../external/identity.ts';

/** The AUTH_* environment that points a service at a test identity provider. */
export interface AuthEnv {
  AUTH_JWKS_URL: string;
  AUTH_ISSUER: string;
  AUTH_AUDIENCE: string;
  [name: string]: string;
}

export interface TestIdentity {
  provider: IdentityProvider;
  url: string;
  jwksUrl: string;
  env: AuthEnv;
  /** A signed token for `sub` (a user unless `roles` says otherwise). */
  token(sub: string, options?: Omit<MintOptions, 'sub'>): Promise<string>;
  /** A signed admin token (sub: a fresh id unless given). */
  adminToken(sub?: string): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for `sub` (an admin with `roles: ['admin']`). */
  headers(sub: string, roles?: string[]): Promise<Record<string, string>>;
  /** Tokens that must be refused, by kind. */
  badTokens(sub: string): Promise<Record<string, string>>;
  /** Serves another key from now on (key rotation): later tokens are signed with it. */
  rotate(): void;
  close(): Promise<void>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * The development identity provider (external/identity.ts) on a free port:
 * its JWKS over real HTTP and tokens signed with its key, plus every kind of
 * token a service must refuse.
 */
export async function startTestIdentity(): Promise<TestIdentity> {
  let provider = new IdentityProvider();
  const app = createApp();
  app.use((req, res, next) => provider.routes()(req, res, next));
  const http: Listening = await listen(app, 0, '127.0.0.1');
  const jwksUrl = `${http.url}/.well-known/jwks.json`;
  const token = (sub: string, options: Omit<MintOptions, 'sub'> = {}) => provider.mint({ sub, ...options });
  return {
    get provider() {
      return provider;
    },
    url: http.url,
    jwksUrl,
    env: { AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: provider.issuer, AUTH_AUDIENCE: provider.audience },
    token,
    adminToken: (sub = randomUUID()) => token(sub, { roles: ['admin'] }),
    async headers(sub, roles = []) {
      return { authorization: `Bearer ${await token(sub, { roles })}` };
    },
    async badTokens(sub) {
      const valid = await token(sub);
      const [header, payload] = valid.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
      const stranger = new IdentityProvider({ issuer: provider.issuer, audience: provider.audience });
      // The classic key-confusion attack: HS256 with the provider's public key as the secret.
      const hmacHeader = b64({ alg: 'HS256', typ: 'JWT', kid: provider.kid });
      const hmacBody = b64(claims);
      const hmacSecret = JSON.stringify(provider.jwks().keys[0]);
      const hmac = createHmac('sha256', hmacSecret).update(`${hmacHeader}.${hmacBody}`).digest('base64url');
      return {
        garbage: 'not-a-jwt',
        truncated: valid.slice(0, -10),
        tamperedClaims: `${header}.${b64({ ...claims, sub: randomUUID(), roles: ['admin'] })}.${valid.split('.')[2]}`,
        wrongKey: await stranger.mint({ sub }),
        wrongKeySameKid: await new IdentityProvider().mint({ sub }).then((t) => {
          const [, body, signature] = t.split('.');
          return `${b64({ alg: 'ES256', kid: provider.kid, typ: 'JWT' })}.${body}.${signature}`;
        }),
        expired: await token(sub, { expiresIn: -3600 }),
        otherIssuer: await token(sub, { issuer: 'someone-else' }),
        otherAudience: await token(sub, { audience: 'another-app' }),
        algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
        hmacWithPublicKey: `${hmacHeader}.${hmacBody}.${hmac}`,
        noSubject: await provider.mint({ sub: '' }),
        noExpiry: await new SignJWT({ roles: ['admin'] })
          .setProtectedHeader({ alg: 'ES256', kid: provider.kid })
          .setSubject(sub)
          .setIssuer(provider.issuer)
          .setAudience(provider.audience)
          .sign(provider.signingKey),
      };
    },
    rotate() {
      provider = new IdentityProvider({ issuer: provider.issuer, audience: provider.audience });
    },
    close: () => http.close(),
  };
}
