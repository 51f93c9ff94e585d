import { fileURLToPath } from 'node:url';
import type { SubgraphFactory, SubgraphModule } from '../../common/subgraph-module.ts';

// What the order worker needs to know of inventory's internal mutations (it calls them over HTTP at INVENTORY_URL).
export type { ReleaseOutcome, ReserveOutcome } from './reservations.ts';

/** The inventory subgraph, described once (listed in subgraphs/index.ts). */
export default {
  name: 'inventory',
  portSetting: 'INVENTORY_PORT',
  urlSetting: 'INVENTORY_URL',
  defaultPort: 4004,
  schemaFile: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  pgSchema: 'inventory',
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createInventorySubgraph,
} as const satisfies SubgraphModule;
