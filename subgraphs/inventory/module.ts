import { defineSubgraph, type SubgraphFactory } from '../../common/subgraph-module.ts';

// What the order worker needs to know of inventory's internal mutations (it calls them over HTTP at INVENTORY_URL).
export type { ReleaseOutcome, ReserveOutcome } from './reservations.ts';

/** The inventory subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(import.meta.url, {
  name: 'inventory',
  defaultPort: 4004,
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createInventorySubgraph,
});
