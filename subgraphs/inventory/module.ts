import { defineSubgraph } from '../../common/subgraph-module.ts';
import { inventorySettings } from './settings.ts';

// What the order worker needs to know of inventory's internal mutations (it calls them over HTTP at INVENTORY_URL).
export type { ReleaseOutcome, ReserveOutcome } from './reservations.ts';

/** The inventory subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'inventory', defaultPort: 4004, settings: inventorySettings },
  {
    server: () => import('./server.js'),
  },
);
