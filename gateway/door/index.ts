import type { ApolloServerPlugin, PersistedQueryOptions } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { Config } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { createApqCache } from './apq.ts';
import { cors } from './cors.ts';
import { operationResolutionPlugin } from './plannable.ts';

type DoorSettings = Pick<Config, 'CORS_ORIGINS' | 'NODE_ENV' | 'REDIS_URL' | 'QUEUE_PREFIX' | 'APQ_TTL_SECONDS'>;

/**
 * What the browser's door adds to the gateway (docs/api/persisted-operations.md):
 * CORS, automatic persisted queries in Redis, and the plugins that keep every
 * refusal a coded 4xx. server.ts mounts `cors` first on /graphql, gives
 * Apollo Server `persistedQueries` and `plugins`, and closes the door when it stops.
 */
export interface Door {
  cors: RequestHandler;
  persistedQueries: PersistedQueryOptions | false;
  plugins: ApolloServerPlugin[];
  close(): Promise<void>;
}

export function createDoor(config: DoorSettings, logger: Logger): Door {
  const apq = createApqCache(config, logger);
  return {
    cors: cors(config),
    persistedQueries: { cache: apq, ttl: config.APQ_TTL_SECONDS },
    plugins: [operationResolutionPlugin()],
    close: () => apq.close(),
  };
}
