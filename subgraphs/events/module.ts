import { fileURLToPath } from 'node:url';
import type { SubgraphFactory, SubgraphModule } from '../../common/subgraph-module.ts';

/** The events subgraph, described once (listed in subgraphs/index.ts). */
export default {
  name: 'events',
  portSetting: 'EVENTS_PORT',
  urlSetting: 'EVENTS_URL',
  defaultPort: 4002,
  schemaFile: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  pgSchema: 'events',
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createEventsSubgraph,
} as const satisfies SubgraphModule;
