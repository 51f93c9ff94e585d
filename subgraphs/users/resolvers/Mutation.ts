import { canSee, requireViewer } from '../../../common/auth.ts';
import { ConflictError, NotFoundError } from '../../../common/errors.ts';
import { isUuid } from '../../../common/ids.ts';
import type { MutationResolvers } from '../generated/resolvers.ts';
import { isDuplicateEmail } from '../repository.ts';
import { validEmail, validName } from '../validation.ts';

async function uniqueEmail<T>(email: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateEmail(error)) throw new ConflictError(`a user with email ${email} already exists`, { field: 'input.email' });
    throw error;
  }
}

export const Mutation: MutationResolvers = {
  async createUser(_, { input }, ctx) {
    const name = validName(input.name, 'input.name');
    const email = validEmail(input.email, 'input.email');
    const user = await uniqueEmail(email, () => ctx.repo.create({ name, email }));
    ctx.signedUp.add(user.id);
    return user;
  },

  async updateUser(_, { id, input }, ctx) {
    // (self): someone else's user is NOT_FOUND, as if it did not exist.
    requireViewer(ctx);
    if (!canSee(ctx, id)) throw new NotFoundError('User', id);
    const changes: { name?: string; email?: string } = {};
    if (input.name !== undefined && input.name !== null) changes.name = validName(input.name, 'input.name');
    if (input.email !== undefined && input.email !== null) changes.email = validEmail(input.email, 'input.email');
    const user = isUuid(id) ? await uniqueEmail(changes.email, () => ctx.repo.update(id, changes)) : undefined;
    if (!user) throw new NotFoundError('User', id);
    return user;
  },

  async deleteUser(_, { id }, ctx) {
    requireViewer(ctx);
    if (!canSee(ctx, id)) throw new NotFoundError('User', id);
    if (!isUuid(id) || !(await ctx.repo.delete(id))) throw new NotFoundError('User', id);
    return true;
  },
};
