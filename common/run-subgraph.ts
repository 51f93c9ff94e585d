import { loadConfig, type Config } from './config.ts';
import { databaseUrlOf } from './databases.ts';
import { connect, type Database } from './db.ts';
import { onShutdown } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import type { SubgraphModule } from './subgraph-module.ts';
import { listenSubgraph } from './subgraph.ts';
import { startTracing } from './tracing.ts';

export interface SubgraphDeps {
  db: Database;
  config: Config;
  logger: Logger;
}

/** A subgraph's index.ts: connect, listen on the port its module names, and close gracefully on SIGTERM. */
export async function runSubgraph(module: SubgraphModule): Promise<void> {
  const { name } = module;
  const config = loadConfig();
  const tracing = await startTracing(name, config.OTEL_EXPORTER_OTLP_ENDPOINT);
  const logger = createLogger(name, config.LOG_LEVEL);
  // Its own database (<NAME>_DATABASE_URL), DATABASE_URL unless set.
  const database = connect(databaseUrlOf(config, name));
  const create = await module.load();
  const subgraph = await create({ db: database.db, config, logger });
  // config.ts declares every module's port setting (a number).
  const port = (config as unknown as Record<string, number>)[module.portSetting]!;
  const http = await listenSubgraph(subgraph, port, config.HOST);
  logger.info({ url: `${http.url}/graphql` }, `${name} subgraph listening`);
  onShutdown(logger, async () => {
    // Ends open subscription streams first, so their clients subscribe again elsewhere.
    await http.close();
    await subgraph.apollo.stop();
    await subgraph.close?.();
    await database.close();
    await tracing?.shutdown();
  });
}
