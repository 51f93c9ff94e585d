import { runSubgraph } from '../../common/run-subgraph.ts';
import { createOrdersSubgraph } from './server.ts';

await runSubgraph('orders', (config) => config.ORDERS_PORT, createOrdersSubgraph);
