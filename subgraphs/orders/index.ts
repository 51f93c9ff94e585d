// The orders subgraph's process: `node --import tsx subgraphs/orders/index.ts`.
import { runSubgraph } from '../../common/run-subgraph.ts';
import orders from './module.ts';

await runSubgraph(orders);
