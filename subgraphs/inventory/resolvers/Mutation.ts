import { requireAdminRole, requireService } from '../../../common/auth.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../common/errors.ts';
import { isSku, validSku, validUuid } from '../../../common/ids.ts';
import type { MutationResolvers, ReservationOutcome } from '../generated/resolvers.ts';
import { StockOverflowError } from '../repository.ts';
import type { ReservationResult } from '../reservations.ts';
import { validNonNegative, validProductName, validRestockQuantity } from '../validation.ts';

/** An empty product id (a release of nothing, a tombstone) is shown as null. */
function reservation(result: ReservationResult<ReservationOutcome>) {
  return { ...result, productId: result.productId || null };
}

export const Mutation: MutationResolvers = {
  async createProduct(_, { input }, ctx) {
    requireAdminRole(ctx);
    const product = {
      id: validSku(input.id, 'input.id'),
      name: validProductName(input.name, 'input.name'),
      priceCents: validNonNegative(input.priceCents, 'input.priceCents'),
      stock: validNonNegative(input.stock, 'input.stock'),
    };
    const created = await ctx.repo.create(product);
    if (!created) throw new ConflictError(`a product with id ${product.id} already exists`, { field: 'input.id' });
    return created;
  },

  async restockProduct(_, args, ctx) {
    requireAdminRole(ctx);
    const quantity = validRestockQuantity(args.quantity, 'quantity');
    try {
      const product = isSku(args.id) ? await ctx.repo.restock(args.id, quantity) : undefined;
      if (!product) throw new NotFoundError('Product', args.id);
      return product;
    } catch (error) {
      if (error instanceof StockOverflowError) throw new InvalidInputError('quantity', error.message);
      throw error;
    }
  },

  async reserveStock(_, args, ctx) {
    requireService(ctx);
    const orderId = validUuid(args.orderId, 'orderId', 'an order id');
    const productId = validSku(args.productId, 'productId');
    const quantity = validRestockQuantity(args.quantity, 'quantity');
    return reservation(await ctx.reservations.reserve(orderId, productId, quantity));
  },

  async releaseStock(_, args, ctx) {
    requireService(ctx);
    return reservation(await ctx.reservations.release(validUuid(args.orderId, 'orderId', 'an order id')));
  },
};
