import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the users resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#UsersContext',
  mappers: {
    User: '../repository.ts#UserRow',
    UserConnection: '../../../common/pagination.ts#Connection<UserRow>',
  },
} satisfies SubgraphCodegen;
