import { fileURLToPath } from 'node:url';
import type { OutboxTable } from '../../common/outbox-table.ts';
import type { SubgraphFactory, SubgraphModule } from '../../common/subgraph-module.ts';

/** The notifications subgraph, described once (listed in subgraphs/index.ts). */
export default {
  name: 'notifications',
  portSetting: 'NOTIFICATIONS_PORT',
  urlSetting: 'NOTIFICATIONS_URL',
  defaultPort: 4005,
  schemaFile: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  pgSchema: 'notifications',
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createNotificationsSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).notificationsOutbox,
} as const satisfies SubgraphModule;
