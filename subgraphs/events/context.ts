import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { EventRegistry } from './registry.ts';
import type { EventsRepository } from './repository.ts';

export interface EventsContext extends BaseContext {
  repo: EventsRepository;
  loaders: Loaders;
  /** The external event registry; absent when registration is off. */
  registry?: EventRegistry;
}

export function createContext(repo: EventsRepository, registry: EventRegistry | undefined, base: BaseContext): EventsContext {
  return { ...base, repo, loaders: createLoaders(repo), ...(registry ? { registry } : {}) };
}
