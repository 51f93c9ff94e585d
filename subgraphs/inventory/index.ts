// The inventory subgraph's process: `node --import tsx subgraphs/inventory/index.ts`.
import { runSubgraph } from '../../common/run-subgraph.ts';
import inventory from './module.ts';

await runSubgraph(inventory);
