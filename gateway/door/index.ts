import type { ApolloServerPlugin, PersistedQueryOptions } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { GatewayConfig as Config } from '../settings.ts';
import type { Logger } from '../../common/logger.ts';
import { createApqCache } from './apq.ts';
import { cors } from './cors.ts';
import { operationResolutionPlugin } from './plannable.ts';
import { createSafelist, safelistMiddleware, type Safelist } from './safelist.ts';

type DoorSettings = Pick<
  Config,
  'CORS_ORIGINS' | 'NODE_ENV' | 'REDIS_URL' | 'QUEUE_PREFIX' | 'APQ_TTL_SECONDS' | 'OPERATIONS_MANIFEST' | 'OPERATIONS_SAFELIST'
>;

/**
 * What the browser's door adds to the gateway (docs/api/persisted-operations.md):
 * CORS, automatic persisted queries in Redis, the persisted-operations
 * safelist, and the plugins that keep every refusal a coded 4xx. server.ts
 * mounts `noStore` and `cors` first on /graphql and `safelist` after the body parser, gives
 * Apollo Server `persistedQueries` and `plugins`, and closes the door when it stops.
 */
export interface Door {
  /** `Cache-Control: no-store` on every answer unless Apollo Server's cache control sets its own. */
  noStore: RequestHandler;
  cors: RequestHandler;
  /** Refuses what OPERATIONS_SAFELIST does not allow, and turns a manifest id into its text; `checkOperation(door.operations, …)` for other transports. */
  safelist: RequestHandler;
  operations: Safelist;
  persistedQueries: PersistedQueryOptions | false;
  plugins: ApolloServerPlugin[];
  close(): Promise<void>;
}

/** Throws ConfigError naming OPERATIONS_MANIFEST when the manifest cannot be read or parsed. */
export function createDoor(config: DoorSettings, logger: Logger): Door {
  const operations = createSafelist(config, logger);
  // enforce and require-id take no new operations: no APQ registration (and no Redis connection for it).
  const apq = operations.apq ? createApqCache(config, logger) : undefined;
  return {
    noStore: (_req, res, next) => {
      res.setHeader('Cache-Control', 'no-store');
      next();
    },
    cors: cors(config),
    safelist: safelistMiddleware(operations, logger),
    operations,
    persistedQueries: apq ? { cache: apq, ttl: config.APQ_TTL_SECONDS } : false,
    plugins: [operationResolutionPlugin()],
    async close() {
      operations.close();
      await apq?.close();
    },
  };
}
