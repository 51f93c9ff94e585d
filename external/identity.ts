import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import express, { type Router } from 'express';
import { SignJWT, type JWK } from 'jose';
import { z } from 'zod';

export interface IdentityProviderOptions {
  /** `iss` of the tokens minted. Default junction-dev (AUTH_ISSUER's default). */
  issuer?: string;
  /** `aud` of the tokens minted. Default junction (AUTH_AUDIENCE's default). */
  audience?: string;
}

export interface MintOptions {
  sub: string;
  roles?: string[];
  /** Lifetime in seconds; negative mints an already expired token. Default 3600. */
  expiresIn?: number;
  /** Override the provider's issuer or audience (tests of foreign tokens). */
  issuer?: string;
  audience?: string;
  /** Extra claims. */
  claims?: Record<string, unknown>;
}

const tokenRequest = z.strictObject({
  sub: z.string().min(1).max(200),
  roles: z.array(z.string().min(1).max(100)).max(20).default([]),
  expiresIn: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .default(3600),
});

/**
 * The development identity provider: one ES256 key generated at start, its
 * public half served as a JWKS, and tokens minted for any `sub` and `roles`
 * asked for. It trusts everyone, so it is for development and tests only;
 * production points AUTH_JWKS_URL at a real provider.
 */
export class IdentityProvider {
  readonly issuer: string;
  readonly audience: string;
  readonly kid = randomUUID();
  private readonly privateKey: KeyObject;

  /** The private key, for tests that sign tokens this provider would never mint. */
  get signingKey(): KeyObject {
    return this.privateKey;
  }
  private readonly publicJwk: JWK;

  constructor(options: IdentityProviderOptions = {}) {
    this.issuer = options.issuer ?? 'junction-dev';
    this.audience = options.audience ?? 'junction';
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: this.kid, alg: 'ES256', use: 'sig' };
  }

  /** The public keys, as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** A signed token for `sub` with `roles`. */
  mint(options: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 3600;
    return new SignJWT({ ...options.claims, roles: options.roles ?? [] })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setSubject(options.sub)
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.audience)
      .setIssuedAt(Math.min(now, now + expiresIn))
      .setExpirationTime(now + expiresIn)
      .sign(this.privateKey);
  }

  /**
   * `GET /.well-known/jwks.json` and `POST /auth/token {"sub", "roles"?, "expiresIn"?}`
   * → `{"token", "tokenType": "Bearer", "expiresIn"}`; both answer browsers on any origin (CORS).
   */
  routes(): Router {
    const router = express.Router();
    // Browser apps on any origin ask for tokens here (examples/web), as they would at a real provider's token endpoint.
    // No credentials are involved, so any origin may read the answers.
    router.use(['/.well-known/jwks.json', '/auth/token'], (req, res, next) => {
      res.set({
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'content-type',
        'Access-Control-Max-Age': '600',
      });
      if (req.method === 'OPTIONS') res.status(204).end();
      else next();
    });
    router.get('/.well-known/jwks.json', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=300').json(this.jwks());
    });
    router.post('/auth/token', express.json({ limit: '10kb' }), async (req, res, next) => {
      const parsed = tokenRequest.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        res.status(400).json({
          error: `${issue.path.join('.') || 'body'}: ${issue.message}`,
          expected: { sub: 'string', roles: 'string[] (optional)', expiresIn: 'seconds (optional)' },
        });
        return;
      }
      try {
        const token = await this.mint(parsed.data);
        res.json({ token, tokenType: 'Bearer', expiresIn: parsed.data.expiresIn });
      } catch (error) {
        next(error);
      }
    });
    return router;
  }
}
