import { loadConfig, type Config } from './config.ts';
import { connect, type Database } from './db.ts';
import { listen, onShutdown } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import type { SubgraphApp } from './subgraph.ts';

export interface SubgraphDeps {
  db: Database;
  config: Config;
  logger: Logger;
}

/** A subgraph's index.ts: connect, listen on its port, and close gracefully on SIGTERM. */
export async function runSubgraph(
  name: string,
  port: (config: Config) => number,
  create: (deps: SubgraphDeps) => Promise<SubgraphApp & { close?: () => Promise<void> }>,
): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(name, config.LOG_LEVEL);
  const database = connect(config.DATABASE_URL);
  const subgraph = await create({ db: database.db, config, logger });
  const http = await listen(subgraph.app, port(config));
  logger.info({ url: `${http.url}/graphql` }, `${name} subgraph listening`);
  onShutdown(logger, async () => {
    await http.close();
    await subgraph.apollo.stop();
    await subgraph.close?.();
    await database.close();
  });
}
