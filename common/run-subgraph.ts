import { databaseUrlOf } from './databases.ts';
import { connect } from './db.ts';
import { onShutdown } from './http.ts';
import { createLogger } from './logger.ts';
import type { SubgraphConfig, SubgraphModule } from './subgraph-module.ts';
import { listenSubgraph } from './subgraph.ts';
import { startTracing } from './tracing.ts';

/** A subgraph's index.ts: read its settings, connect, listen on the port its module names, and close gracefully on SIGTERM. */
export async function runSubgraph<C extends SubgraphConfig & { readonly [K in P]: number }, P extends string>(module: SubgraphModule<C, P>): Promise<void> {
  const { name } = module;
  const config = module.settings.load();
  const tracing = await startTracing(name, config.OTEL_EXPORTER_OTLP_ENDPOINT);
  const logger = createLogger(name, config.LOG_LEVEL);
  // Its own database (<NAME>_DATABASE_URL), DATABASE_URL unless set.
  const database = connect(databaseUrlOf(config, name));
  const create = await module.load();
  const subgraph = await create({ db: database.db, config, logger });
  const http = await listenSubgraph(subgraph, config[module.portSetting], config.HOST);
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
