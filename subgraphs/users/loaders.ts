import DataLoader from 'dataloader';
import type { RequestIds } from '../../common/http.ts';
import { isUuid } from '../../common/ids.ts';
import type { Enrichment, Enrichments } from './enrichment.ts';
import type { UserRow, UsersRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every id asked for in one tick costs one statement. */
export function createLoaders(repo: UsersRepository, enrichments: Enrichments, ids?: RequestIds) {
  return {
    userById: new DataLoader<string, UserRow | null>(async (ids) => {
      const valid = ids.filter(isUuid);
      const rows = valid.length > 0 ? await repo.byIds(valid) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Each user at most once per request: one read of stored data, then calls (bounded) for those not fresh. */
    enrichmentByUserId: new DataLoader<string, Enrichment>((userIds) => enrichments.forUsers(userIds, ids)),
  };
}
