import { QUEUE_NAMES } from '../subgraphs/index.ts';
import { backupsQueue } from './backup/queue.ts';

/** Every queue of the workers process: the subgraphs' (subgraphs/index.ts) and the backups queue; Bull Board and /metrics show them. */
export const WORKER_QUEUES: readonly string[] = [...QUEUE_NAMES, backupsQueue.name];
