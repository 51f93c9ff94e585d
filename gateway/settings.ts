/**
 * The gateway's settings: the base ones (common/config.ts), its own, and the
 * port and URL setting of every subgraph of the catalog of processes
 * (scripts/catalog.ts, data only: the gateway knows subgraphs by URL), each URL
 * defaulting to its port on this machine.
 */
import { z } from 'zod';
import {
  defineSettings,
  heartbeatSetting,
  subscriptionQueueSetting,
  origins,
  port,
  subgraphAddressSettings,
  subgraphUrls,
  type ConfigOf,
} from '../common/config.ts';
import { SUBGRAPH_PROCESSES } from '../scripts/catalog.ts';

/** The subgraphs the gateway has a URL setting for: the catalog's, in its order. */
export const SUBGRAPH_ADDRESSES = SUBGRAPH_PROCESSES.map((s) => ({ name: s.name, urlSetting: `${s.name.toUpperCase()}_URL` }));

export const gatewaySettings = defineSettings(
  'gateway',
  {
    GATEWAY_PORT: port(4000).describe('Port the gateway listens on (every interface).'),
    ...subgraphAddressSettings(SUBGRAPH_PROCESSES),
    SUBGRAPH_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(1)
      .default(10000)
      .describe(
        "Timeout of each call from the gateway to a subgraph; past it (or while that subgraph's breaker is open) the subgraph's part of a query is SERVICE_UNAVAILABLE with serviceName and retryAfter, the rest is answered.",
      ),
    SUPERGRAPH_PATH: z
      .string()
      .min(1)
      .default('supergraph.graphql')
      .describe('The composed supergraph the gateway loads (relative paths against the project root, or dist/ when compiled); reloaded when it changes.'),
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
    ...heartbeatSetting,
    RATE_LIMIT_PER_MINUTE: z.coerce
      .number()
      .int()
      .min(0)
      .default(600)
      .describe(
        'Gateway: requests a minute per signed-in viewer, or per client address when anonymous, counted in Redis so every gateway replica shares them; 0 turns it off.',
      ),
    ...subscriptionQueueSetting,
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
  },
  {
    check(env, ctx) {
      // A safelist needs the list (docs/api/persisted-operations.md).
      if (env.OPERATIONS_SAFELIST !== 'off' && env.OPERATIONS_MANIFEST === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['OPERATIONS_SAFELIST'],
          message: `${env.OPERATIONS_SAFELIST} needs the list of operations: set OPERATIONS_MANIFEST to its path`,
        });
      }
    },
    // The URL settings, each defaulting to its subgraph's port on this machine (read by subgraphUrl in gateway/subgraphs.ts).
    derive: (env) => subgraphUrls(SUBGRAPH_PROCESSES, env),
  },
);

export type GatewayConfig = ConfigOf<typeof gatewaySettings>;
