import { describe, expect, it } from 'vitest';
import { checkBoundaries, sourceFiles } from '../scripts/check-boundaries.ts';
import { QUEUE_NAMES, SUBGRAPHS } from '../subgraphs/index.ts';

const domainNames = [...QUEUE_NAMES, ...SUBGRAPHS.map((s) => s.name)];

describe('import boundaries (scripts/check-boundaries.ts)', () => {
  it('hold in this tree', () => {
    expect(checkBoundaries(sourceFiles(), { domainNames }).map((v) => `${v.rule}: ${v.message}`)).toEqual([]);
  });

  it('fail a tree that breaks each rule, naming the file and the rule', () => {
    const tree = new Map(
      Object.entries({
        // common/ reading the subgraph list (as config.ts once did, for the per-subgraph settings).
        'common/config.ts': `import { SUBGRAPHS } from '../subgraphs/index.ts';`,
        // common/ naming a queue, and reaching into a subgraph.
        'common/queues.ts': `import { orders } from '../subgraphs/orders/db.ts';\nexport const ORDERS = 'orders';`,
        'common/types.ts': `export type Config = { a: string };`,
        'subgraphs/index.ts': `import orders from './orders/module.ts';\nimport users from './users/module.ts';`,
        // A module face importing server code at start.
        'subgraphs/orders/module.ts': `import { createOrdersSubgraph } from './server.ts';\nimport type { Config } from '../../common/types.ts';`,
        'subgraphs/orders/server.ts': `import express from 'express';\nimport { OrdersRepository } from './repository.ts';`,
        'subgraphs/orders/db.ts': `export const orders = 1;`,
        // The old cycle: the repository knows the queue code, which knows the repository (for a type).
        'subgraphs/orders/repository.ts': `import { jobIdOf } from './queue.ts';`,
        'subgraphs/orders/queue.ts': `import type { OrderRow } from './repository.ts';`,
        'subgraphs/users/module.ts': `export default { load: () => import('./server.ts') };`,
        // Cycles of type-only imports (in common/, and through generated resolver types) and through import().
        'common/subgraph.ts': `import { createSubscriptionServer } from './subscriptions/server.ts';`,
        'common/subscriptions/server.ts': `import type { CallerContext } from '../subgraph.ts';`,
        'subgraphs/inventory/generated/resolvers.ts': `import type { InventoryContext } from '../context.ts';`,
        'subgraphs/inventory/context.ts': `import type { ReservationOutcome } from './generated/resolvers.ts';`,
        'subgraphs/events/module.ts': `export default { load: () => import('./server.ts') };`,
        'subgraphs/events/server.ts': `import events from './module.ts';`,
        // A subgraph importing another.
        'subgraphs/users/server.ts': `import { OrdersRepository } from '../orders/repository.ts';`,
        // A worker reaching inside a subgraph.
        'workers/relay.ts': `import { ordersOutbox } from '../subgraphs/orders/db.ts';\nimport { processOrder } from '../subgraphs/orders/module.ts';`,
        'gateway/subgraphs.ts': `import { x } from '../subgraphs/users/module.ts';`,
        // The gateway reading the subgraph list (and with it every module) instead of the catalog; the catalog importing code.
        'gateway/settings.ts': `import { SUBGRAPHS } from '../subgraphs/index.ts';\nimport { PROCESSES } from '../scripts/catalog.ts';`,
        'scripts/catalog.ts': `import users from '../subgraphs/users/module.ts';`,
        'external/index.ts': `import { y } from '../workers/relay.ts';`,
        // Tests may reach inside.
        'workers/test/relay.int.test.ts': `import { orders } from '../../subgraphs/orders/db.ts';`,
      }),
    );
    const violations = checkBoundaries(tree, { domainNames }).map((v) => `${v.rule} ${v.file}: ${v.message}`);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^boundaries common\/config\.ts: common\/ knows no domain: .* imports subgraphs\/index\.ts$/),
        expect.stringMatching(/^boundaries common\/queues\.ts: common\/ knows no domain: .* imports subgraphs\/orders\/db\.ts$/),
        expect.stringMatching(/^no-domain-in-common common\/queues\.ts: .*names 'orders'$/),
        expect.stringMatching(/^cheap-module-list subgraphs\/orders\/module\.ts: .*imports subgraphs\/orders\/server\.ts at start/),
        expect.stringMatching(/^no-cycles .*import cycle: subgraphs\/orders\/queue\.ts <-> subgraphs\/orders\/repository\.ts$/),
        expect.stringMatching(/^no-cycles .*import cycle: common\/subgraph\.ts <-> common\/subscriptions\/server\.ts$/),
        expect.stringMatching(/^no-cycles .*import cycle: subgraphs\/inventory\/context\.ts <-> subgraphs\/inventory\/generated\/resolvers\.ts$/),
        expect.stringMatching(/^no-cycles .*import cycle: subgraphs\/events\/module\.ts <-> subgraphs\/events\/server\.ts$/),
        expect.stringMatching(/^boundaries subgraphs\/users\/server\.ts: no subgraph imports another: .* imports subgraphs\/orders\/repository\.ts$/),
        expect.stringMatching(/^boundaries workers\/relay\.ts: workers use a subgraph only through its module\.ts: .* imports subgraphs\/orders\/db\.ts$/),
        expect.stringMatching(/^boundaries gateway\/subgraphs\.ts: the gateway knows subgraphs by URL only, .* imports subgraphs\/users\/module\.ts$/),
        expect.stringMatching(/^boundaries gateway\/settings\.ts: the gateway knows subgraphs by URL only, .* imports subgraphs\/index\.ts$/),
        expect.stringMatching(/^boundaries scripts\/catalog\.ts: scripts\/catalog\.ts is data only: it imports subgraphs\/users\/module\.ts$/),
        expect.stringMatching(/^boundaries external\/index\.ts: external\/ .* imports workers\/relay\.ts$/),
      ]),
    );
    // What the rules allow is not reported: the gateway reading the catalog, a worker using module.ts,
    // a lazy import() of server code, a type-only import of common/, and test files.
    const allowed = [
      /gateway\/settings\.ts imports scripts\/catalog\.ts/,
      /workers\/relay\.ts imports subgraphs\/orders\/module\.ts/,
      /^\S+ subgraphs\/users\/module\.ts:/,
      /imports common\/types\.ts/,
      /\/test\//,
    ];
    expect(violations.filter((v) => allowed.some((pattern) => pattern.test(v)))).toEqual([]);
    expect(violations).toHaveLength(14);
  });
});
