import { requireAdminRole } from '../../../common/auth.ts';
import { pageSize } from '../../../common/pagination.ts';
import type { ProductResolvers } from '../generated/resolvers.ts';

export const Product: ProductResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.productById.load(ref.id),

  movements: (product, args, ctx) => {
    requireAdminRole(ctx);
    return ctx.loaders.movements(pageSize(args.first, 50)).load(product.id);
  },
};
