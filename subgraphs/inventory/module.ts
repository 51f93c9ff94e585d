import { defineSubgraph } from '../../common/subgraph-module.ts';
import { inventorySettings } from './settings.ts';

/** The inventory subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'inventory', defaultPort: 4004, settings: inventorySettings },
  {
    server: () => import('./server.js'),
  },
);
