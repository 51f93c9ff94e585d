import { defineSubgraph, type SubgraphFactory } from '../../common/subgraph-module.ts';

/** The events subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(import.meta.url, {
  name: 'events',
  defaultPort: 4002,
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createEventsSubgraph,
});
