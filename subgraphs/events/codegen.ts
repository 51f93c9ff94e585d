import type { SubgraphCodegen } from '../../codegen.ts';

/** How `npm run codegen` types the events resolvers (paths relative to generated/resolvers.ts). */
export default {
  context: '../context.ts#EventsContext',
  mappers: {
    Event: '../repository.ts#EventRow',
    EventConnection: '../../../common/pagination.ts#Connection<EventRow>',
    // Here a User is only its key: the users subgraph owns the rest.
    User: '{ id: string }',
  },
} satisfies SubgraphCodegen;
