// The notifications subgraph's process: `node --import tsx subgraphs/notifications/index.ts`.
import { runSubgraph } from '../../common/run-subgraph.ts';
import notifications from './module.ts';

await runSubgraph(notifications);
