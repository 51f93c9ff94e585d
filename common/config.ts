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

/** Each subgraph's port and URL setting, from its module (subgraphs/index.ts): USERS_PORT, USERS_URL, ... */
type SubgraphPorts = { [S in Subgraph as S['portSetting']]: ReturnType<typeof port> };
type SubgraphUrls<T> = { [S in Subgraph as S['urlSetting']]: T };
const subgraphSettings = Object.fromEntries(
  SUBGRAPHS.flatMap((s) => [
    [s.portSetting, port(s.defaultPort).describe(`Port the ${s.name} subgraph listens on; the default of ${s.urlSetting}.`)],
    [
      s.urlSetting,
      z
        .url()
        .optional()
        .describe(
          `Where the gateway and the workers reach the ${s.name} subgraph (not the routing URL in supergraph.graphql); default http://127.0.0.1:<${s.portSetting}>/graphql.`,
        ),
    ],
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

/** Every setting of every Junction service, each with its description (docs/operations/configuration.md is written from them). */
export const configObjectSchema = z
  .object({
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
      .describe("The PostgreSQL database that holds every subgraph's schema (created if missing)."),
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
    GATEWAY_PORT: port(4000).describe('Port the gateway listens on (every interface).'),
    ...subgraphSettings,
    EXTERNAL_PORT: port(4010).describe(
      'Port of the simulated partner services and the development identity provider (external/); the partner URLs and AUTH_JWKS_URL default to it.',
    ),
    WORKERS_PORT: port(4020).describe("Port of the workers' /health, /ready, /metrics, Bull Board (/admin/queues) and /admin/backups."),
    WEB_PORT: port(4030).describe(
      'Port of the example web app (examples/web/serve.js, its own origin) under `npm run example:web`; the gateway lists it in CORS_ORIGINS there.',
    ),
    ENRICHMENT_URL: z.url().optional().describe('The enrichment service (GET /enrichment/{userId}); default the simulated one on EXTERNAL_PORT.'),
    EVENT_REGISTRY_URL: optionalUrl
      .optional()
      .describe('The event registry addEvent registers with (POST /events); default the simulated one on EXTERNAL_PORT; empty turns registration off.'),
    NOTIFY_URL: z.url().optional().describe('The notification provider (POST /messages with Idempotency-Key); default the simulated one on EXTERNAL_PORT.'),
    BACKUP_URL: z.url().optional().describe("Where the day's backup archive is uploaded (PUT /backups/<name>); default the simulated store on EXTERNAL_PORT."),
    INGEST_API_KEY: z
      .string()
      .min(8)
      .optional()
      .describe('The key ingestEvent requires (X-API-Key), 8+ characters; unset, a development key is generated at start and printed by `npm start`.'),
    NOTIFY_RETRY_DELAYS_MS: delays('1000,5000,30000').describe(
      "Notification delivery: the delay before each retry (3 retries by default), then the job stays in BullMQ's failed set and the notification FAILED.",
    ),
    ORDER_RETRY_DELAYS_MS: delays('5000,5000,5000').describe(
      'Order processing: the delay before each retry of a timeout, 5xx or connection error from inventory; then the order is FAILED(INVENTORY_UNAVAILABLE).',
    ),
    INVENTORY_TIMEOUT_MS: ms(3000).describe('Timeout of each call from the order worker to the inventory subgraph.'),
    INVENTORY_BATCH_WINDOW_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(2)
      .describe('How long the order worker holds a reservation for others to share its request to inventory (0: those of the same tick).'),
    INVENTORY_BATCH_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .describe('Most reservations in one request from the order worker to inventory (1: one request per order).'),
    ENRICHMENT_TTL_MS: ms(300000).describe(
      'How long fetched enrichment is fresh (AVAILABLE) before it is fetched again; older data is served as STALE while the service fails.',
    ),
    ENRICHMENT_TIMEOUT_MS: ms(1000).describe('Timeout of each attempt to call the enrichment service.'),
    EVENT_REGISTRY_TIMEOUT_MS: ms(1000).describe('Timeout of each attempt to register an event with the event registry.'),
    SUBGRAPH_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(1)
      .default(10000)
      .describe(
        "Timeout of each call from the gateway to a subgraph; past it (or while that subgraph's breaker is open) the subgraph's part of a query is SERVICE_UNAVAILABLE with serviceName and retryAfter, the rest is answered.",
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
    OUTBOX_POLL_MS: ms(500).describe('How often the outbox relay looks for unpublished rows.'),
    WORKER_LOCK_MS: z.coerce
      .number()
      .int()
      .min(500)
      .default(30000)
      .describe('BullMQ lock of an active job; a job whose worker died is retried once its lock lapses (checked as often).'),
    ORDER_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Orders a worker process handles at once (the jobs mostly wait on inventory and PostgreSQL).'),
    ORDER_RECOVERY_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(300000)
      .describe('An order PENDING or PROCESSING this long has its job checked (queued again if Redis lost it); also how often that runs.'),
    NOTIFY_RECOVERY_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(300000)
      .describe(
        'A notification QUEUED or RETRYING this long has its delivery job checked (queued again if Redis lost it, FAILED if it failed for good), and an event announced this long ago (up to a day) with no notification has its job checked; also how often that runs.',
      ),
    SUPERGRAPH_PATH: z
      .string()
      .min(1)
      .default('supergraph.graphql')
      .describe('The composed supergraph the gateway loads (relative paths against the project root, or dist/ when compiled); reloaded when it changes.'),
    MIGRATE_WAIT_TIMEOUT_MS: ms(600000).describe(
      'How long `npm run db:migrate -- --wait` (the Kubernetes init container) waits for the migrations before it fails.',
    ),
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl
      .default('')
      .describe(
        'OTLP/HTTP collector base URL (e.g. http://otel-collector:4318; spans go to /v1/traces); empty, no traces are recorded or sent. OTEL_BSP_* tune the batching.',
      ),
    HOST: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe(
        'Interface the subgraphs and the workers listen on; 0.0.0.0 for every interface (containers). The gateway and the simulated services listen on every interface.',
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
    BACKUP_DIR: z.string().min(1).default('./backups').describe('Where the workers keep database dumps and the archives built from them.'),
    BACKUP_DUMP_EVERY_MS: z.coerce
      .number()
      .int()
      .refine((value) => value === 0 || value >= 1000, { message: 'expected 0 (off) or at least 1000 ms' })
      .default(300000)
      .describe('A pg_dump of the database this often (one per interval, however many worker replicas run); 0 turns the backup schedules off in this process.'),
    BACKUP_UPLOAD_CRON: cron('0 0 * * *').describe("When the day's archive is uploaded to BACKUP_URL, in UTC (five fields, or six with seconds first)."),
    BACKUP_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .default(7)
      .describe('Dumps older than this are deleted once an accepted upload holds them; archives older than this are deleted.'),
    BACKUP_UPLOAD_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(120000)
      .describe('Timeout of one upload attempt (a timeout is a failure, retried later the same day).'),
    BACKUP_UPLOAD_RETRY_DELAYS_MS: delays('60000,300000,900000,3600000').describe(
      'Delays before each retry of a failed upload; the last repeats until the UTC day ends.',
    ),
    MAX_QUERY_DEPTH: z.coerce
      .number()
      .int()
      .min(1)
      .default(12)
      .describe('Gateway: deepest field nesting of an operation (fragments followed), else MAX_DEPTH_LIMIT.'),
    MAX_ALIASES: z.coerce.number().int().min(0).default(30).describe('Gateway: most aliases in an operation (fragments followed), else MAX_ALIASES_LIMIT.'),
    MAX_QUERY_TOKENS: z.coerce.number().int().min(1).default(5000).describe('Gateway: most lexical tokens in a document, else GRAPHQL_PARSE_FAILED.'),
    MAX_QUERY_COST: z.coerce
      .number()
      .int()
      .min(1)
      .default(10000)
      .describe('Gateway: highest estimated cost (each field once per row the `first` arguments allow), else COST_ESTIMATED_TOO_EXPENSIVE.'),
    RATE_LIMIT_PER_MINUTE: z.coerce
      .number()
      .int()
      .min(0)
      .default(600)
      .describe(
        'Gateway: requests a minute per signed-in viewer, or per client address when anonymous, counted in Redis so every gateway replica shares them; 0 turns it off.',
      ),
    SUBSCRIPTION_HEARTBEAT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(15000)
      .describe('Subscriptions: a heartbeat this often on every open stream (an SSE comment line, a WebSocket ping), so proxies keep idle streams open.'),
    SUBSCRIPTION_REPLAY_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .default(24)
      .describe('Subscriptions: how far back orderUpdates(after:) replays; an older cursor is BAD_USER_INPUT.'),
    SUBSCRIPTION_QUEUE_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe(
        'Subscriptions: most events held for one subscriber that is not keeping up; beyond it its subscription ends with an error (it resumes with after).',
      ),
    SUBSCRIPTIONS_PER_VIEWER: z.coerce
      .number()
      .int()
      .min(1)
      .default(25)
      .describe(
        'Gateway: most subscriptions one viewer may hold open at once, counted in Redis across every gateway replica on it (by each process alone while Redis is unreachable); one more is refused with RATE_LIMITED.',
      ),
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((value): boolean | number | string => (value.trim() === '' ? false : /^\d+$/.test(value.trim()) ? Number(value.trim()) : value.trim()))
      .describe(
        "Gateway: which proxies in front of it to believe about the client address (X-Forwarded-For), as express's `trust proxy`: empty (the TCP peer), a hop count such as 1, or addresses/subnets such as `loopback,10.0.0.0/8`.",
      ),
    CORS_ORIGINS: origins.describe(
      'Gateway: the origins a browser app may call /graphql from (CORS), comma-separated exact origins such as `https://app.example.com`; empty: none. In development also any `http://localhost:<port>` and `http://127.0.0.1:<port>`.',
    ),
    OPERATIONS_MANIFEST: z
      .string()
      .trim()
      .default('')
      .describe(
        "Gateway: a persisted-operations manifest (Apollo's apollo-persisted-query-manifest JSON or GraphQL Code Generator's persisted-documents.json), relative to the working directory unless absolute; reloaded when it changes; empty: none (docs/api/persisted-operations.md).",
      ),
    OPERATIONS_SAFELIST: z
      .enum(['off', 'log', 'enforce', 'require-id'])
      .default('off')
      .describe(
        'Gateway: `off` (any operation; APQ on), `log` (operations not in OPERATIONS_MANIFEST run, and are logged and counted), `enforce` (only manifest operations, by id or identical text; others PERSISTED_QUERY_NOT_IN_LIST), `require-id` (only by id; text PERSISTED_QUERY_ID_REQUIRED). An admin token is exempt.',
      ),
    APQ_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(86400)
      .describe('Gateway: how long an automatic persisted query stays in Redis (shared by every replica), in seconds.'),
  })
  .superRefine((env, ctx) => {
    // A safelist needs the list (docs/api/persisted-operations.md).
    if (env.OPERATIONS_SAFELIST !== 'off' && env.OPERATIONS_MANIFEST === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['OPERATIONS_SAFELIST'],
        message: `${env.OPERATIONS_SAFELIST} needs the list of operations: set OPERATIONS_MANIFEST to its path`,
      });
    }
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
  });

/** The settings as the services read them, with the defaults derived from other settings. */
const configSchema = configObjectSchema.transform((env) => {
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
