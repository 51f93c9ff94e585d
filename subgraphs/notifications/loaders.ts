import { EXACT_IDS, loaderById, loaderOfLists, loadersByArguments } from '../../common/loaders.ts';
import type { NotificationsRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: NotificationsRepository) {
  return {
    notificationById: loaderById((ids) => repo.byIds(ids)),
    /**
     * User.notifications(first): each user's newest `first`, one loader per `first`. Recipient ids are
     * compared as given: external producers may name recipients by any id.
     */
    notificationsByUserId: loadersByArguments(
      (first: number) =>
        loaderOfLists(
          (userIds) => repo.newestByUserIds(userIds, first),
          (row) => row.userId ?? '',
          EXACT_IDS,
        ),
      String,
    ),
  };
}
