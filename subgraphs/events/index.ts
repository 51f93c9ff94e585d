import { runSubgraph } from '../../common/run-subgraph.ts';
import { createEventsSubgraph } from './server.ts';

await runSubgraph('events', (config) => config.EVENTS_PORT, createEventsSubgraph);
