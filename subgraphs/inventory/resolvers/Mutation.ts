import { requireAdminRole, requireService } from '../../../common/auth.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../common/errors.ts';
import { isSku, validSku, validUuid } from '../../../common/ids.ts';
import { withStoredTrace } from '../../../common/tracing.ts';
import type { MutationResolvers, ReservationOutcome, ReserveStockInput } from '../generated/resolvers.ts';
import type { InventoryContext } from '../context.ts';
import { StockOverflowError } from '../repository.ts';
import type { ReservationResult } from '../reservations.ts';
import { validNonNegative, validProductName, validRestockQuantity } from '../validation.ts';

/** An empty product id (a release of nothing, a tombstone) is shown as null. */
function reservation(result: ReservationResult<ReservationOutcome>) {
  return { ...result, productId: result.productId || null };
}

/** Most reservations in one reserveStocks call. */
export const MAX_RESERVE_BATCH = 100;

/** reserveStock's validation and statement, for one order. */
async function reserveOne(ctx: InventoryContext, args: { orderId: string; productId: string; quantity: number }) {
  const orderId = validUuid(args.orderId, 'orderId', 'an order id');
  const productId = validSku(args.productId, 'productId');
  const quantity = validRestockQuantity(args.quantity, 'quantity');
  return reservation(await ctx.reservations.reserve(orderId, productId, quantity));
}

/** One input of reserveStocks, in a span of the order attempt's own trace (its traceparent), tagged with its ids. */
function reserveTraced(ctx: InventoryContext, input: ReserveStockInput) {
  const attributes: Record<string, string> = { 'junction.service': 'inventory', 'junction.order_id': input.orderId };
  if (input.requestId) attributes['junction.request_id'] = input.requestId;
  if (input.correlationId) attributes['junction.correlation_id'] = input.correlationId;
  return withStoredTrace('inventory reserveStock', input.traceparent ? { traceparent: input.traceparent } : undefined, attributes, () =>
    reserveOne(ctx, input),
  );
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
    return reserveOne(ctx, args);
  },

  reserveStocks(_, { inputs }, ctx) {
    requireService(ctx);
    if (inputs.length < 1 || inputs.length > MAX_RESERVE_BATCH)
      throw new InvalidInputError('inputs', `inputs must hold 1..${MAX_RESERVE_BATCH} reservations, got ${inputs.length}`);
    // One promise per input, all at once (each its own statement, as concurrent reserveStock requests run): GraphQL
    // completes each item by itself, so a rejected one is null with an error at ["reserveStocks", i] and the rest still answer.
    return inputs.map((input) => reserveTraced(ctx, input)) as unknown as ReturnType<typeof reservation>[];
  },

  async releaseStock(_, args, ctx) {
    requireService(ctx);
    return reservation(await ctx.reservations.release(validUuid(args.orderId, 'orderId', 'an order id')));
  },
};
