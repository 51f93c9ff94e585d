import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { InventoryRepository } from './repository.ts';

export interface InventoryContext extends BaseContext {
  repo: InventoryRepository;
  loaders: Loaders;
}

export function createContext(repo: InventoryRepository, base: BaseContext): InventoryContext {
  return { ...base, repo, loaders: createLoaders(repo) };
}
