import { ConflictError, InvalidInputError, NotFoundError } from '../../../common/errors.ts';
import { isUuid } from '../../../common/ids.ts';
import type { OrdersContext } from '../context.ts';
import type { OrderRow } from '../repository.ts';
import { validIdempotencyKey, validProductId, validQuantity, validUserId } from '../validation.ts';

interface PlaceOrderInput {
  userId: string;
  productId: string;
  quantity: number;
  idempotencyKey?: string | null;
}

function sameOrder(order: OrderRow, input: { userId: string; productId: string; quantity: number }): boolean {
  return order.userId === input.userId && order.productId === input.productId && order.quantity === input.quantity;
}

export const Mutation = {
  async placeOrder(_: unknown, { input }: { input: PlaceOrderInput }, ctx: OrdersContext) {
    const order = {
      userId: validUserId(input.userId, 'input.userId'),
      productId: validProductId(input.productId, 'input.productId'),
      quantity: validQuantity(input.quantity, 'input.quantity'),
      idempotencyKey: validIdempotencyKey(input.idempotencyKey, 'input.idempotencyKey'),
    };
    const placed = await ctx.repo.place(order, { requestId: ctx.requestId, correlationId: ctx.correlationId });
    if (!placed.created && !sameOrder(placed.order, order)) {
      throw new ConflictError('this idempotencyKey was already used for a different order', { field: 'input.idempotencyKey' });
    }
    return placed.order;
  },

  async cancelOrder(_: unknown, { id }: { id: string }, ctx: OrdersContext) {
    if (!isUuid(id)) throw new NotFoundError('Order', id);
    const cancelled = await ctx.repo.transition(id.toLowerCase(), { from: ['PENDING'], to: 'CANCELLED', reason: 'cancelled by the client' });
    if (cancelled) return cancelled;
    const [order] = await ctx.repo.byIds([id.toLowerCase()]);
    if (!order) throw new NotFoundError('Order', id);
    switch (order.status) {
      case 'CANCELLED':
        return order;
      case 'FAILED':
        throw new InvalidInputError('id', `order ${id} has FAILED and cannot be cancelled`);
      default:
        // PROCESSING and CONFIRMED need the reservation released; order processing adds that.
        throw new InvalidInputError('id', `cancelling a ${order.status} order is not supported yet`);
    }
  },
};
