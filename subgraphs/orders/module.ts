import { fileURLToPath } from 'node:url';
import type { OutboxTable } from '../../common/outbox-table.ts';
import type { SubgraphFactory, SubgraphModule } from '../../common/subgraph-module.ts';

/** The orders subgraph, described once (listed in subgraphs/index.ts). */
export default {
  name: 'orders',
  portSetting: 'ORDERS_PORT',
  urlSetting: 'ORDERS_URL',
  defaultPort: 4003,
  schemaFile: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  pgSchema: 'orders',
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createOrdersSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).ordersOutbox,
} as const satisfies SubgraphModule;
