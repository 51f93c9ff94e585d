import DataLoader from 'dataloader';
import { isUuid } from '../../common/ids.ts';
import type { EventRow, EventsRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: EventsRepository) {
  // One loader per `first`: keys of one batch must share the limit of the window.
  const byUserId = new Map<number, DataLoader<string, EventRow[]>>();

  return {
    eventById: new DataLoader<string, EventRow | null>(async (ids) => {
      const valid = ids.filter(isUuid);
      const rows = valid.length > 0 ? await repo.byIds(valid) : [];
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => (isUuid(id) ? (byId.get(id.toLowerCase()) ?? null) : null));
    }),

    /** The loader of the first `first` events of each user (first already validated). */
    eventsByUserId(first: number): DataLoader<string, EventRow[]> {
      let loader = byUserId.get(first);
      if (!loader) {
        loader = new DataLoader<string, EventRow[]>(async (userIds) => {
          const valid = userIds.filter(isUuid);
          const rows = valid.length > 0 ? await repo.firstByUserIds(valid, first) : [];
          const byUser = new Map<string, EventRow[]>();
          for (const row of rows) {
            const list = byUser.get(row.userId);
            if (list) list.push(row);
            else byUser.set(row.userId, [row]);
          }
          return userIds.map((id) => (isUuid(id) ? (byUser.get(id.toLowerCase()) ?? []) : []));
        });
        byUserId.set(first, loader);
      }
      return loader;
    },
  };
}
