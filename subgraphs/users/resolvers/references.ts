import type { EventResolvers, NotificationResolvers, OrderResolvers } from '../generated/resolvers.ts';

/**
 * Entities of other subgraphs that point at a user by id. The users subgraph
 * resolves those references itself (@requires), so a deleted user is null
 * even when the client selects only its id.
 */
export const Event: EventResolvers = {
  __resolveReference: (ref) => ref,
  organizer: (event, _args, ctx) => ctx.loaders.userById.load(event.organizerId),
};

export const Order: OrderResolvers = {
  __resolveReference: (ref) => ref,
  user: (order, _args, ctx) => ctx.loaders.userById.load(order.userId),
};

export const Notification: NotificationResolvers = {
  __resolveReference: (ref) => ref,
  // Producers may name a recipient by any id: a null one is simply no user.
  recipient: (notification, _args, ctx) => (notification.recipientId ? ctx.loaders.userById.load(notification.recipientId) : null),
};
