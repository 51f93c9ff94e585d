// The events subgraph's process: `node --import tsx subgraphs/events/index.ts`.
import { runSubgraph } from '../../common/run-subgraph.ts';
import events from './module.ts';

await runSubgraph(events);
