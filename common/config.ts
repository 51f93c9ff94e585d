import { randomBytes } from 'node:crypto';
import cronParser from 'cron-parser';
import { z } from 'zod';
import { SUBGRAPHS, type Subgraph } from '../subgraphs/index.ts';
import { hashTagOf, parseRedisUrl, RedisUrlError } from './redis-url.ts';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const delays = (fallback: string) =>
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

const optionalUrl = z.union([z.literal(''), z.url()]);

/** A REDIS_URL of one of the forms common/redis-url.ts reads (one Redis, Sentinel, Cluster). */
const redisUrl = z
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
const origins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const list = value.split(',').map((part) => part.trim()).filter(Boolean);
    for (const origin of list) {
      if (!URL.canParse(origin) || new URL(origin).origin !== origin || origin.includes('*')) {
        ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin: expected scheme://host[:port], e.g. https://app.example.com (no path, no trailing slash, no wildcard)` });
        return z.NEVER;
      }
    }
    return list;
  });

/** Each subgraph's port and URL setting, from its module (subgraphs/index.ts): USERS_PORT, USERS_URL, ... */
type SubgraphPorts = { [S in Subgraph as S['portSetting']]: ReturnType<typeof port> };
type SubgraphUrls<T> = { [S in Subgraph as S['urlSetting']]: T };
const subgraphSettings = Object.fromEntries(
  SUBGRAPHS.flatMap((s) => [
    [s.portSetting, port(s.defaultPort)],
    [s.urlSetting, z.url().optional()],
  ]),
) as SubgraphPorts & SubgraphUrls<z.ZodOptional<z.ZodURL>>;
/** A BullMQ cron pattern (five fields, or six with seconds first), read in UTC as BullMQ will. */
const cron = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (value) => {
        try {
          cronParser.parseExpression(value, { tz: 'UTC' }).next();
          return value.trim().length > 0;
        } catch {
          return false;
        }
      },
      { message: 'expected a cron pattern, e.g. "0 0 * * *" (minute hour day month weekday) or six fields with seconds first' },
    );

/** Every setting of every Junction service, read from the environment once. */
const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/junction'),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: z.string().min(1).default('junction'),
    GATEWAY_PORT: port(4000),
    ...subgraphSettings,
    EXTERNAL_PORT: port(4010),
    WORKERS_PORT: port(4020),
    ENRICHMENT_URL: z.url().optional(),
    EVENT_REGISTRY_URL: optionalUrl.optional(),
    NOTIFY_URL: z.url().optional(),
    BACKUP_URL: z.url().optional(),
    INGEST_API_KEY: z.string().min(8).optional(),
    NOTIFY_RETRY_DELAYS_MS: delays('1000,5000,30000'),
    ORDER_RETRY_DELAYS_MS: delays('5000,5000,5000'),
    INVENTORY_TIMEOUT_MS: ms(3000),
    /** How long the order worker holds a reservation for others to share its request to inventory (0: those of the same tick). */
    INVENTORY_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(2),
    /** Most reservations in one request from the order worker to inventory (1: no batching). */
    INVENTORY_BATCH_MAX: z.coerce.number().int().min(1).max(100).default(20),
    ENRICHMENT_TTL_MS: ms(300000),
    ENRICHMENT_TIMEOUT_MS: ms(1000),
    /** Timeout of each attempt to register an event with the event registry. */
    EVENT_REGISTRY_TIMEOUT_MS: ms(1000),
    /** Timeout of each call from the gateway to a subgraph (its per-subgraph breaker counts it as a failure). */
    SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(1).default(10000),
    BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().min(1).max(100).default(50),
    BREAKER_VOLUME_THRESHOLD: z.coerce.number().int().min(0).default(5),
    BREAKER_RESET_TIMEOUT_MS: ms(10000),
    /** Longest wait of an open breaker: each failed half-open trial doubles the wait (with jitter) up to this; unset, 60000 (or BREAKER_RESET_TIMEOUT_MS when longer). */
    BREAKER_MAX_RESET_TIMEOUT_MS: z.coerce.number().int().min(0).optional(),
    OUTBOX_POLL_MS: ms(500),
    /** BullMQ lock of an active job; a job whose worker died is retried once its lock lapses (checked as often). */
    WORKER_LOCK_MS: z.coerce.number().int().min(500).default(30000),
    /** Orders a worker process handles at once (the jobs mostly wait on inventory and PostgreSQL). */
    ORDER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(20),
    /** An order PENDING or PROCESSING this long has its job checked (queued again if Redis lost it); also how often that runs. */
    ORDER_RECOVERY_MS: z.coerce.number().int().min(100).default(300000),
    /**
     * A notification QUEUED or RETRYING this long has its delivery job checked (queued again if Redis lost it, FAILED if it
     * failed for good), and an event announced to notifications this long ago (up to a day) with no notification has its job
     * checked; also how often that runs.
     */
    NOTIFY_RECOVERY_MS: z.coerce.number().int().min(100).default(300000),
    SUPERGRAPH_PATH: z.string().min(1).default('supergraph.graphql'),
    /** How long `db:migrate -- --wait` (a Kubernetes init container) waits for the migrations before it fails. */
    MIGRATE_WAIT_TIMEOUT_MS: ms(600000),
    /** OTLP/HTTP collector base URL (spans go to <it>/v1/traces); empty or unset, no traces are recorded or sent. */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl.default(''),
    /** Interface the subgraphs and the workers listen on; 0.0.0.0 for every interface (containers). */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** JWKS of the identity provider; default the simulated one in external/. */
    AUTH_JWKS_URL: z.url().optional(),
    AUTH_ISSUER: z.string().min(1).default('junction-dev'),
    AUTH_AUDIENCE: z.string().min(1).default('junction'),
    /** Claim holding the Junction user id (exact name, or a dotted path into nested claims). */
    AUTH_USER_CLAIM: z.string().min(1).default('sub'),
    /** Claim holding the roles: an array or a space-separated string; "admin" makes an operator. */
    AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
    /** Secret the workers send (X-Service-Key) for the subgraphs' internal operations (reserveStock, /internal/*). */
    SERVICE_API_KEY: z.string().min(16).optional(),
    /** Where the workers keep database dumps (and the archives built from them). */
    BACKUP_DIR: z.string().min(1).default('./backups'),
    /** A pg_dump of the database this often (one per interval, however many worker replicas run); 0 turns the backup schedules off in this process. */
    BACKUP_DUMP_EVERY_MS: z.coerce
      .number()
      .int()
      .refine((value) => value === 0 || value >= 1000, { message: 'expected 0 (off) or at least 1000 ms' })
      .default(300000),
    /** When the day's archive is uploaded to BACKUP_URL (UTC). */
    BACKUP_UPLOAD_CRON: cron('0 0 * * *'),
    /** Dumps older than this are deleted once an accepted upload holds them. */
    BACKUP_RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
    /** Timeout of one upload attempt (a timeout is a failure, retried later the same day). */
    BACKUP_UPLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(120000),
    /** Delays before each retry of a failed upload; the last repeats until the UTC day ends. */
    BACKUP_UPLOAD_RETRY_DELAYS_MS: delays('60000,300000,900000,3600000'),
    /** Gateway: deepest field nesting of an operation (fragments followed) -> MAX_DEPTH_LIMIT. */
    MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(12),
    /** Gateway: most aliases in an operation (fragments followed) -> MAX_ALIASES_LIMIT. */
    MAX_ALIASES: z.coerce.number().int().min(0).default(30),
    /** Gateway: most lexical tokens in a document -> GRAPHQL_PARSE_FAILED. */
    MAX_QUERY_TOKENS: z.coerce.number().int().min(1).default(5000),
    /** Gateway: highest estimated cost (each field once per row the `first` arguments allow) -> COST_ESTIMATED_TOO_EXPENSIVE. */
    MAX_QUERY_COST: z.coerce.number().int().min(1).default(10000),
    /** Gateway: requests a minute per viewer (per client address when anonymous), shared through Redis; 0 turns it off. */
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
    /** Subscriptions: a heartbeat this often on every open stream (an SSE comment line, a WebSocket ping), so proxies keep idle streams open. */
    SUBSCRIPTION_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15000),
    /** Subscriptions: how far back orderUpdates(after:) replays; an older cursor is BAD_USER_INPUT. */
    SUBSCRIPTION_REPLAY_HOURS: z.coerce.number().int().min(1).default(24),
    /** Subscriptions: most events held for one subscriber that is not keeping up; beyond it its subscription ends with an error (it resumes with after). */
    SUBSCRIPTION_QUEUE_MAX: z.coerce.number().int().min(1).default(1000),
    /**
     * Gateway: which proxies in front of it to believe about the client address
     * (X-Forwarded-For), as express's `trust proxy`: empty (none, the default),
     * a hop count, or comma-separated addresses/subnets such as `loopback,10.0.0.0/8`.
     */
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((value): boolean | number | string => (value.trim() === '' ? false : /^\d+$/.test(value.trim()) ? Number(value.trim()) : value.trim())),
    /**
     * Gateway: the origins a browser app may call /graphql from (CORS), comma-separated exact origins such as
     * `https://app.example.com`; empty: none. In development also any `http://localhost:<port>` and `http://127.0.0.1:<port>`.
     */
    CORS_ORIGINS: origins,
    /** Gateway: how long an automatic persisted query stays in Redis (shared by every replica), in seconds. */
    APQ_TTL_SECONDS: z.coerce.number().int().min(1).default(86400),
  })
  .superRefine((env, ctx) => {
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
  })
  .transform((env) => {
    const local = (p: number) => `http://127.0.0.1:${p}`;
    const external = local(env.EXTERNAL_PORT);
    return {
      ...env,
      production: env.NODE_ENV === 'production',
      // A subgraph's URL defaults to its port on this machine.
      ...(Object.fromEntries(SUBGRAPHS.map((s) => [s.urlSetting, env[s.urlSetting] ?? `${local(env[s.portSetting])}/graphql`])) as SubgraphUrls<string>),
      BREAKER_MAX_RESET_TIMEOUT_MS: env.BREAKER_MAX_RESET_TIMEOUT_MS ?? Math.max(60_000, env.BREAKER_RESET_TIMEOUT_MS),
      ENRICHMENT_URL: env.ENRICHMENT_URL ?? external,
      // An empty EVENT_REGISTRY_URL turns registration off; unset means the simulated registry.
      EVENT_REGISTRY_URL: env.EVENT_REGISTRY_URL ?? external,
      NOTIFY_URL: env.NOTIFY_URL ?? external,
      BACKUP_URL: env.BACKUP_URL ?? external,
      AUTH_JWKS_URL: env.AUTH_JWKS_URL ?? `${external}/.well-known/jwks.json`,
      ingestKeyGenerated: env.INGEST_API_KEY === undefined,
      INGEST_API_KEY: env.INGEST_API_KEY ?? `dev-${randomBytes(12).toString('hex')}`,
      serviceKeyGenerated: env.SERVICE_API_KEY === undefined,
      SERVICE_API_KEY: env.SERVICE_API_KEY ?? `dev-service-${randomBytes(16).toString('hex')}`,
    };
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses settings from an environment object; throws ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${variable}=${JSON.stringify(env[variable] ?? '')}: ${issue.message}`);
  }
  return result.data;
}

let cached: Config | undefined;

/** The process's configuration; a bad variable stops the process with one line naming it. */
export function loadConfig(): Config {
  if (cached) return cached;
  try {
    cached = parseConfig(process.env);
    return cached;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
