import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { InventoryRepository } from './repository.ts';
import type { ReservationsRepository } from './reservations.ts';

export interface InventoryContext extends BaseContext {
  repo: InventoryRepository;
  loaders: Loaders;
  reservations: ReservationsRepository;
}

export function createContext(repo: InventoryRepository, reservations: ReservationsRepository, base: BaseContext): InventoryContext {
  return { ...base, repo, reservations, loaders: createLoaders(repo) };
}
