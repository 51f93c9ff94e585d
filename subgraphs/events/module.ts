import { defineSubgraph } from '../../common/subgraph-module.ts';
import { eventsSettings } from './settings.ts';

/** The events subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'events', defaultPort: 4002, settings: eventsSettings },
  {
    server: () => import('./server.js'),
  },
);
