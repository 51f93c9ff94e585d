import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { OrdersRepository } from './repository.ts';

export interface OrdersContext extends BaseContext {
  repo: OrdersRepository;
  loaders: Loaders;
}

export function createContext(repo: OrdersRepository, base: BaseContext): OrdersContext {
  return { ...base, repo, loaders: createLoaders(repo) };
}
