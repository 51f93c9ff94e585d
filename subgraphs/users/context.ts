import type { BaseContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { UsersRepository } from './repository.ts';

export interface UsersContext extends BaseContext {
  repo: UsersRepository;
  loaders: Loaders;
}

export function createContext(repo: UsersRepository, base: BaseContext): UsersContext {
  return { ...base, repo, loaders: createLoaders(repo) };
}
