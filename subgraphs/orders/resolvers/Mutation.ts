import { actingFor, canSee, requireViewer } from '../../../common/auth.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../common/errors.ts';
import { isUuid, validSku, validUuid } from '../../../common/ids.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { releaseJobMessage } from '../processing.ts';
import type { OrderRow } from '../repository.ts';
import { validIdempotencyKey, validQuantity } from '../validation.ts';

function sameOrder(order: OrderRow, input: { userId: string; productId: string; quantity: number }): boolean {
  return order.userId === input.userId && order.productId === input.productId && order.quantity === input.quantity;
}

export const Mutation: MutationResolvers = {
  async placeOrder(_, { input }, ctx) {
    // (viewer): the order is the viewer's unless an admin names another userId.
    const buyer = actingFor(ctx, input.userId);
    const order = {
      userId: validUuid(buyer, 'input.userId', 'a user id'),
      productId: validSku(input.productId, 'input.productId'),
      quantity: validQuantity(input.quantity, 'input.quantity'),
      idempotencyKey: validIdempotencyKey(input.idempotencyKey, 'input.idempotencyKey'),
    };
    const placed = await ctx.repo.place(order, { requestId: ctx.requestId, correlationId: ctx.correlationId });
    if (!placed.created && !sameOrder(placed.order, order)) {
      throw new ConflictError('this idempotencyKey was already used for a different order', { field: 'input.idempotencyKey' });
    }
    return placed.order;
  },

  async cancelOrder(_, { id }, ctx) {
    requireViewer(ctx);
    if (!isUuid(id)) throw new NotFoundError('Order', id);
    // (self): someone else's order is NOT_FOUND, as if it did not exist (an order never changes owner).
    const [owned] = await ctx.repo.byIds([id.toLowerCase()]);
    if (!owned || !canSee(ctx, owned.userId)) throw new NotFoundError('Order', id);
    // The release job gives back whatever the order holds, exactly once; queued for PENDING orders too, where it
    // leaves a tombstone that voids a reservation an in-flight attempt might still make.
    const cancelled = await ctx.repo.transition(id.toLowerCase(), {
      from: ['PENDING', 'PROCESSING', 'CONFIRMED'],
      to: 'CANCELLED',
      reason: 'cancelled by the client',
      outbox: [releaseJobMessage(id.toLowerCase())],
    });
    if (cancelled) return cancelled;
    const [order] = await ctx.repo.byIds([id.toLowerCase()]);
    if (!order) throw new NotFoundError('Order', id);
    if (order.status === 'FAILED') throw new InvalidInputError('id', `order ${id} has FAILED and cannot be cancelled`);
    // CANCELLED already (or cancelled by a concurrent request): returned unchanged.
    return order;
  },
};
