import { requireAdminRole } from '../../../common/auth.ts';
import { InvalidInputError, NotFoundError, ServiceUnavailableError } from '../../../common/errors.ts';
import { isUuid } from '../../../common/ids.ts';
import { currentTraceparent } from '../../../common/tracing.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { requeueDelivery } from '../delivery-queue.ts';
import { checkApiKey, validIngestEvent } from '../validation.ts';

export const Mutation: MutationResolvers = {
  async ingestEvent(_, { input }, ctx) {
    checkApiKey(ctx.request.get('x-api-key'), ctx.config.INGEST_API_KEY);
    const event = validIngestEvent(input);
    // The delivery continues this request's trace.
    const recorded = await ctx.repo.record({ ...event, requestId: ctx.requestId, correlationId: ctx.correlationId, traceparent: currentTraceparent() });
    return { eventId: recorded.eventId, status: recorded.status };
  },

  async retryNotification(_, { id }, ctx) {
    requireAdminRole(ctx);
    if (!isUuid(id)) throw new NotFoundError('Notification', id);
    const result = await ctx.repo.retry(id, async (row) => {
      try {
        await requeueDelivery(await ctx.deliveries(), row, ctx.config);
      } catch (error) {
        // Thrown inside the transaction: the row stays FAILED, as nothing was requeued.
        throw new ServiceUnavailableError(`the delivery queue is unavailable: ${(error as Error).message}`, 1);
      }
    });
    if (!result) throw new NotFoundError('Notification', id);
    if (!result.retried) throw new InvalidInputError('id', `notification ${id} is ${result.row.status}; only a FAILED notification can be retried`);
    return result.row;
  },
};
