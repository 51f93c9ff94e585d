import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the inventory resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#InventoryContext',
  mappers: {
    Product: '../repository.ts#ProductRow',
    ProductConnection: '../../../common/pagination.ts#Connection<ProductRow>',
    StockMovement: '../repository.ts#MovementRow',
  },
} satisfies SubgraphCodegen;
