import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the orders resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#OrdersContext',
  mappers: {
    Order: '../repository.ts#OrderView',
    OrderConnection: '../../../common/pagination.ts#Connection<OrderView>',
    OrderStatusChange: '../repository.ts#StatusChangeRow',
    OrderUpdate: '../order-streams.ts#OrderUpdateEvent',
    // Here a User is only its key: the users subgraph owns the rest.
    User: '{ id: string }',
  },
} satisfies SubgraphCodegen;
