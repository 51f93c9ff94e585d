import type { BaseContext } from '../../common/subgraph.ts';
import type { Enrichments } from './enrichment.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { UsersRepository } from './repository.ts';

export interface UsersContext extends BaseContext {
  repo: UsersRepository;
  loaders: Loaders;
  /** Users created by this request (sign-up): their creator may read back what they just sent. */
  signedUp: Set<string>;
}

export function createContext(repo: UsersRepository, enrichments: Enrichments, base: BaseContext): UsersContext {
  return { ...base, repo, signedUp: new Set(), loaders: createLoaders(repo, enrichments, { requestId: base.requestId, correlationId: base.correlationId }) };
}
