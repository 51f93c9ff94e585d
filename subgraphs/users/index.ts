import { runSubgraph } from '../../common/run-subgraph.ts';
import { createUsersSubgraph } from './server.ts';

await runSubgraph('users', (config) => config.USERS_PORT, createUsersSubgraph);
