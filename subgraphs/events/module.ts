import { defineSubgraph } from '../../common/subgraph-module.ts';

/** The events subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'events', defaultPort: 4002 },
  {
    server: () => import('./server.js'),
  },
);
