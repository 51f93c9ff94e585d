// The users subgraph's process: `node --import tsx subgraphs/users/index.ts`.
import { runSubgraph } from '../../common/run-subgraph.ts';
import users from './module.ts';

await runSubgraph(users);
