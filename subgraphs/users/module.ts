import type { OutboxTable } from '../../common/outbox-table.ts';
import { defineSubgraph, type SubgraphFactory } from '../../common/subgraph-module.ts';
import { userSignup } from './jobs.ts';

export { userSignup };

/** The users subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(import.meta.url, {
  name: 'users',
  defaultPort: 4001,
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createUsersSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).usersOutbox,
  jobs: [userSignup],
});
