/**
 * The building blocks of every process's settings: the kinds of setting
 * (ports, durations, delay lists, Redis URLs, origins), the settings every
 * process shares (baseSettings), and defineSettings, with which each process
 * declares the settings it reads where it starts (gateway/settings.ts,
 * subgraphs/<name>/settings.ts, workers/settings.ts, …) and which fails in one
 * line naming the bad variable. common/ knows no process: each names its own.
 * docs/operations/configuration.md is written from the declarations.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashTagOf, parseRedisUrl, RedisUrlError } from './redis-url.ts';

/** A TCP port, default `fallback`. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
/** Whole milliseconds, default `fallback`. */
export const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
/** Comma-separated whole milliseconds (a retry schedule), as a list. */
export const delays = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const parts = value.split(',').map((part) => part.trim());
      const numbers = parts.map(Number);
      if (parts.length === 0 || numbers.some((n, i) => parts[i] === '' || !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: 'custom', message: 'expected comma-separated whole milliseconds, e.g. 1000,5000,30000' });
        return z.NEVER;
      }
      return numbers;
    });

/** A URL, or empty (turned off). */
export const optionalUrl = z.union([z.literal(''), z.url()]);

/** A REDIS_URL of one of the forms common/redis-url.ts reads (one Redis, Sentinel, Cluster). */
export const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((value, ctx) => {
    try {
      parseRedisUrl(value);
    } catch (error) {
      if (!(error instanceof RedisUrlError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  });

/** Comma-separated exact origins (scheme, host and port: `https://app.example.com`), as a list. */
export const origins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const list = value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
    for (const origin of list) {
      if (!URL.canParse(origin) || new URL(origin).origin !== origin || origin.includes('*')) {
        ctx.addIssue({
          code: 'custom',
          message: `"${origin}" is not an origin: expected scheme://host[:port], e.g. https://app.example.com (no path, no trailing slash, no wildcard)`,
        });
        return z.NEVER;
      }
    }
    return list;
  });

/** The port setting of a subgraph, as every process that reads it declares it (the subgraph, the gateway, the workers). */
export const subgraphPortSetting = (name: string, urlSetting: string, fallback: number) =>
  port(fallback).describe(`Port the ${name} subgraph listens on; the default of ${urlSetting}.`);

/** The URL setting of a subgraph, as the processes that call it declare it (the gateway, the workers). */
export const subgraphUrlSetting = (name: string, portSetting: string) =>
  z
    .url()
    .optional()
    .describe(
      `Where the gateway and the workers reach the ${name} subgraph (not the routing URL in supergraph.graphql); default http://127.0.0.1:<${portSetting}>/graphql.`,
    );

/** Each named subgraph's port setting (USERS_PORT for users, …) and URL setting (USERS_URL), for a process that calls them. */
export function subgraphAddressSettings<const N extends string>(subgraphs: readonly { readonly name: N; readonly port: number }[]) {
  const shape = Object.fromEntries(
    subgraphs.flatMap(({ name, port: fallback }) => {
      const setting = name.toUpperCase();
      return [
        [`${setting}_PORT`, subgraphPortSetting(name, `${setting}_URL`, fallback)],
        [`${setting}_URL`, subgraphUrlSetting(name, `${setting}_PORT`)],
      ];
    }),
  );
  // Object.fromEntries knows no key names: these are the ones built above.
  return shape as { [K in N as `${Uppercase<K>}_PORT`]: ReturnType<typeof subgraphPortSetting> } & {
    [K in N as `${Uppercase<K>}_URL`]: ReturnType<typeof subgraphUrlSetting>;
  };
}

/** Each named subgraph's URL setting (parsed into `env`), defaulting to `http://127.0.0.1:<its port setting>/graphql`. */
export function subgraphUrls<const N extends string>(subgraphs: readonly { readonly name: N }[], env: object) {
  const values = new Map(Object.entries(env));
  const urls = Object.fromEntries(
    subgraphs.map(({ name }) => {
      const setting = name.toUpperCase();
      const url = values.get(`${setting}_URL`);
      return [`${setting}_URL`, typeof url === 'string' ? url : `http://127.0.0.1:${Number(values.get(`${setting}_PORT`))}/graphql`];
    }),
  );
  // As above: the keys built are the URL settings of `subgraphs`.
  return urls as { [K in N as `${Uppercase<K>}_URL`]: string };
}

/** A URL on this machine: `http://127.0.0.1:<port>`. */
export const local = (p: number) => `http://127.0.0.1:${p}`;

/** The subscription heartbeat: the gateway and every subgraph send it on their open streams. */
export const heartbeatSetting = {
  SUBSCRIPTION_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(15000)
    .describe('Subscriptions: a heartbeat this often on every open stream (an SSE comment line, a WebSocket ping), so proxies keep idle streams open.'),
};

/** How far a subscriber may fall behind: the gateway and the orders subgraph hold at most this many events for it. */
export const subscriptionQueueSetting = {
  SUBSCRIPTION_QUEUE_MAX: z.coerce
    .number()
    .int()
    .min(1)
    .default(1000)
    .describe(
      'Subscriptions: most events held for one subscriber that is not keeping up; beyond it its subscription ends with an error (it resumes with after).',
    ),
};

/** The settings every process reads: where it logs, PostgreSQL, Redis, tracing, signing in, the service key and the breakers. */
export const baseSettings = {
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe(
      '`production` turns off Apollo Sandbox\'s landing page, introspection and field suggestions ("Did you mean …?") and masks internal errors; `test` is for the test suite.',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Least level of the JSON log lines (pino) written to stdout.'),
  DATABASE_URL: z
    .url()
    .default('postgres://postgres@127.0.0.1:5432/junction')
    .describe(
      "The PostgreSQL database that holds every subgraph's schema (created if missing); a subgraph given a database of its own (`<NAME>_DATABASE_URL`) keeps its schema there instead.",
    ),
  REDIS_URL: redisUrl.describe(
    'Redis for BullMQ and the rate limit: `redis://` or `rediss://` (TLS), Sentinels as `redis+sentinel://host:26379[,host:26379…]/<master name>[/db]`, a Redis Cluster as `redis+cluster://host:6379[,host:6379…]` (see redis-ha.md).',
  ),
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .default('junction')
    .describe(
      "Prefix of BullMQ's and the rate limit's Redis keys, so several stacks can share one Redis; with a `redis+cluster://` URL it must hold a hash tag, e.g. `{junction}`, or every service refuses to start.",
    ),
  HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Interface the subgraphs and the workers listen on; 0.0.0.0 for every interface (containers). The gateway and the simulated services listen on every interface.',
    ),
  EXTERNAL_PORT: port(4010).describe(
    'Port of the simulated partner services and the development identity provider (external/); the partner URLs and AUTH_JWKS_URL default to it.',
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl
    .default('')
    .describe(
      'OTLP/HTTP collector base URL (e.g. http://otel-collector:4318; spans go to /v1/traces); empty, no traces are recorded or sent. OTEL_BSP_* tune the batching.',
    ),
  AUTH_JWKS_URL: z
    .url()
    .optional()
    .describe(
      "JWKS of the identity provider that signs bearer tokens (asymmetric algorithms only, 30 s clock tolerance); default the development provider's /.well-known/jwks.json on EXTERNAL_PORT.",
    ),
  AUTH_ISSUER: z.string().min(1).default('junction-dev').describe('The issuer (iss) a token must have.'),
  AUTH_AUDIENCE: z.string().min(1).default('junction').describe('The audience (aud) a token must have.'),
  AUTH_USER_CLAIM: z.string().min(1).default('sub').describe('Claim holding the Junction user id: an exact claim name or a dotted path into nested claims.'),
  AUTH_ROLES_CLAIM: z
    .string()
    .min(1)
    .default('roles')
    .describe(
      'Claim holding the roles (`admin` makes an operator): an exact name (`https://example.com/roles`, `cognito:groups`) or a dotted path (`realm_access.roles`); an array or a space-separated string.',
    ),
  SERVICE_API_KEY: z
    .string()
    .min(16)
    .optional()
    .describe(
      "The secret the workers send as X-Service-Key for the subgraphs' internal operations (reserveStock, releaseStock, /internal/*), 16+ characters; unset, each process generates its own (npm start shares one): set one value for every process when they run separately.",
    ),
  BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().min(1).max(100).default(50).describe('Every breaker: the share of failed calls that opens it.'),
  BREAKER_VOLUME_THRESHOLD: z.coerce.number().int().min(0).default(5).describe('Every breaker: the least calls before it may open.'),
  BREAKER_RESET_TIMEOUT_MS: ms(10000).describe('Every breaker: how long it stays open before one half-open trial call.'),
  BREAKER_MAX_RESET_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'Every breaker: the longest wait while open, at least BREAKER_RESET_TIMEOUT_MS; each failed half-open trial doubles the wait (with jitter) up to this, a success brings it back; unset, 60000 (or BREAKER_RESET_TIMEOUT_MS when longer).',
    ),
};

type BaseEnv = z.output<z.ZodObject<typeof baseSettings>>;

/** The checks across base settings. */
function checkBase(env: BaseEnv, ctx: z.RefinementCtx): void {
  if (env.BREAKER_MAX_RESET_TIMEOUT_MS !== undefined && env.BREAKER_MAX_RESET_TIMEOUT_MS < env.BREAKER_RESET_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['BREAKER_MAX_RESET_TIMEOUT_MS'],
      message: `expected at least BREAKER_RESET_TIMEOUT_MS (${env.BREAKER_RESET_TIMEOUT_MS}): it caps the wait that failed half-open trials double`,
    });
  }
  // BullMQ's scripts touch several keys of a queue at once; Redis Cluster runs them only when every key is in one slot.
  // (Runs also when REDIS_URL itself was refused: then that is the error reported.)
  if (/^redis\+cluster:/i.test(env.REDIS_URL) && !hashTagOf(env.QUEUE_PREFIX)) {
    ctx.addIssue({
      code: 'custom',
      path: ['QUEUE_PREFIX'],
      message: `REDIS_URL is a Redis Cluster (redis+cluster://), so QUEUE_PREFIX needs a hash tag, e.g. {${env.QUEUE_PREFIX}}: BullMQ's scripts touch several keys of a queue at once, and a Cluster runs them only when every key hashes to one slot`,
    });
  }
}

/** The base settings derived from others, or generated. */
function deriveBase(env: BaseEnv) {
  return {
    production: env.NODE_ENV === 'production',
    BREAKER_MAX_RESET_TIMEOUT_MS: env.BREAKER_MAX_RESET_TIMEOUT_MS ?? Math.max(60_000, env.BREAKER_RESET_TIMEOUT_MS),
    AUTH_JWKS_URL: env.AUTH_JWKS_URL ?? `${local(env.EXTERNAL_PORT)}/.well-known/jwks.json`,
    serviceKeyGenerated: env.SERVICE_API_KEY === undefined,
    SERVICE_API_KEY: env.SERVICE_API_KEY ?? `dev-service-${randomBytes(16).toString('hex')}`,
  };
}

/** The base settings as every process reads them. */
export type BaseConfig = BaseEnv & ReturnType<typeof deriveBase>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `read()`'s settings; a ConfigError stops the process with its one line (the bad variable), anything else is thrown. */
export function orExit<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

export type Env = Record<string, string | undefined>;

/** One process's (or command's) settings. */
export interface Settings<T> {
  /** The process or command, as docs/operations/configuration.md names it in "read by". */
  readonly name: string;
  /** Every setting it reads (the base ones included), each with its description. */
  readonly schema: z.ZodObject;
  /** The settings from `env`, with the defaults derived from other settings; throws ConfigError naming the first bad variable. */
  parse(env?: Env): T;
  /** The process's settings from process.env, read once; a bad variable stops the process with one line naming it. */
  load(): T;
}

/** The settings a Settings reads. */
export type ConfigOf<S> = S extends Settings<infer T> ? T : never;

/**
 * The settings of process `name`: the base settings and `own`, checked by
 * `check` across settings, with what `derive` adds (defaults taken from other
 * settings) replacing what it names.
 */
export function defineSettings<S extends z.ZodRawShape, D extends object = object>(
  name: string,
  own: S,
  options: {
    check?: (env: z.output<z.ZodObject<S>>, ctx: z.RefinementCtx) => void;
    derive?: (env: z.output<z.ZodObject<S>> & BaseConfig) => D;
  } = {},
): Settings<z.output<z.ZodObject<S>> & BaseConfig & D> {
  const object = z.object(own);
  const schema = z.object({ ...baseSettings, ...own });
  type Parsed = z.output<z.ZodObject<S>> & BaseConfig & D;
  const parse = (env: Env = process.env): Parsed => {
    const base = z.object(baseSettings).superRefine(checkBase).safeParse(env);
    const mine = object.superRefine((value, ctx) => options.check?.(value, ctx)).safeParse(env);
    // The first bad variable in the order the page lists them: the base ones first.
    const issue = (base.success ? undefined : base.error.issues[0]) ?? (mine.success ? undefined : mine.error.issues[0]);
    if (issue || !base.success || !mine.success) {
      const variable = String(issue?.path[0] ?? 'environment');
      throw new ConfigError(`invalid configuration: ${variable}=${JSON.stringify(env[variable] ?? '')}: ${issue?.message ?? 'invalid'}`);
    }
    const config = { ...base.data, ...deriveBase(base.data), ...mine.data };
    // Without derive, D is `object`: nothing is added.
    return { ...config, ...options.derive?.(config) } as Parsed;
  };
  let cached: Parsed | undefined;
  return {
    name,
    schema,
    parse,
    load() {
      cached ??= orExit(() => parse(process.env));
      return cached;
    },
  };
}
