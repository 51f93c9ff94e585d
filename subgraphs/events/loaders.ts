import { loaderById, loaderOfLists, loadersByArguments } from '../../common/loaders.ts';
import type { EventsRepository } from './repository.ts';

export type Loaders = ReturnType<typeof createLoaders>;

/** Fresh DataLoaders for one request: every key asked for in one tick costs one statement. */
export function createLoaders(repo: EventsRepository) {
  return {
    eventById: loaderById((ids) => repo.byIds(ids)),
    /** User.events(first): one loader per `first` (keys of one batch share the window's limit), keyed by user id. */
    eventsByUserId: loadersByArguments(
      (first: number) =>
        loaderOfLists(
          (userIds) => repo.firstByUserIds(userIds, first),
          (event) => event.userId,
        ),
      String,
    ),
  };
}
