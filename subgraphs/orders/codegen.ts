import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the orders resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#OrdersContext',
  mappers: {
    Order: '../repository.ts#OrderRow',
    OrderConnection: '../../../common/pagination.ts#Connection<OrderRow>',
    OrderStatusChange: '../repository.ts#StatusChangeRow',
    // Here a User is only its key: the users subgraph owns the rest.
    User: '{ id: string }',
  },
} satisfies SubgraphCodegen;
