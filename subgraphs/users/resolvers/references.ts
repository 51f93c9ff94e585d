import type { UsersContext } from '../context.ts';

/**
 * Entities of other subgraphs that point at a user by id. The users subgraph
 * resolves those references itself (@requires), so a deleted user is null
 * even when the client selects only its id.
 */
export const Event = {
  __resolveReference: (ref: { id: string; organizerId: string }) => ref,
  organizer: (event: { organizerId: string }, _args: unknown, ctx: UsersContext) => ctx.loaders.userById.load(event.organizerId),
};

export const Order = {
  __resolveReference: (ref: { id: string; userId: string }) => ref,
  user: (order: { userId: string }, _args: unknown, ctx: UsersContext) => ctx.loaders.userById.load(order.userId),
};

export const Notification = {
  __resolveReference: (ref: { id: string; recipientId: string | null }) => ref,
  // Producers may name a recipient by any id: a null one is simply no user.
  recipient: (notification: { recipientId: string | null }, _args: unknown, ctx: UsersContext) =>
    notification.recipientId ? ctx.loaders.userById.load(notification.recipientId) : null,
};
