import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the notifications resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#NotificationsContext',
  mappers: {
    Notification: '../repository.ts#NotificationRow',
    NotificationConnection: '../../../common/pagination.ts#Connection<NotificationRow>',
    // Here a User is only its key: the users subgraph owns the rest.
    User: '{ id: string }',
  },
} satisfies SubgraphCodegen;
