import { fileURLToPath } from 'node:url';
import type { OutboxTable } from '../../common/outbox-table.ts';
import type { SubgraphFactory, SubgraphModule } from '../../common/subgraph-module.ts';
import { userSignup } from './jobs.ts';

export { userSignup };

/** The users subgraph, described once (listed in subgraphs/index.ts). */
export default {
  name: 'users',
  portSetting: 'USERS_PORT',
  urlSetting: 'USERS_URL',
  defaultPort: 4001,
  schemaFile: fileURLToPath(new URL('./schema.graphql', import.meta.url)),
  pgSchema: 'users',
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createUsersSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).usersOutbox,
  jobs: [userSignup],
} as const satisfies SubgraphModule;
