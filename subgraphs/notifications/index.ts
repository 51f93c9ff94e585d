import { runSubgraph } from '../../common/run-subgraph.ts';
import { createNotificationsSubgraph } from './server.ts';

await runSubgraph('notifications', (config) => config.NOTIFICATIONS_PORT, createNotificationsSubgraph);
