import { defineSubgraph } from '../../common/subgraph-module.ts';
import { usersSettings } from './settings.ts';
import { userSignup } from './jobs.ts';

export { userSignup };

/** The users subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'users', defaultPort: 4001, settings: usersSettings, jobs: [userSignup] },
  {
    server: () => import('./server.js'),
    outbox: () => import('./db.js'),
  },
);
