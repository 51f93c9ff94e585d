import type { Queue } from 'bullmq';
import type { NotificationsConfig as Config } from './settings.ts';
import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { NotificationsRepository } from './repository.ts';

export interface NotificationsContext extends BaseContext {
  repo: NotificationsRepository;
  loaders: Loaders;
  config: Config;
  /** The delivery queue, for retryNotification. */
  deliveries(): Promise<Queue>;
}

export function createContext(repo: NotificationsRepository, config: Config, deliveries: () => Promise<Queue>, base: BaseContext): NotificationsContext {
  return { ...base, repo, config, deliveries, loaders: createLoaders(repo) };
}
