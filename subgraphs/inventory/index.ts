import { runSubgraph } from '../../common/run-subgraph.ts';
import { createInventorySubgraph } from './server.ts';

await runSubgraph('inventory', (config) => config.INVENTORY_PORT, createInventorySubgraph);
