import DataLoader from 'dataloader';
import type { RequestIds } from '../../common/http.ts';
import { loaderById } from '../../common/loaders.ts';
import type { Enrichment, Enrichments } from './enrichment.ts';
import type { UsersRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every id asked for in one tick costs one statement. */
export function createLoaders(repo: UsersRepository, enrichments: Enrichments, ids?: RequestIds) {
  return {
    userById: loaderById((userIds) => repo.byIds(userIds)),
    /** Each user at most once per request: one read of stored data, then calls (bounded) for those not fresh. */
    enrichmentByUserId: new DataLoader<string, Enrichment>((userIds) => enrichments.forUsers(userIds, ids)),
  };
}
