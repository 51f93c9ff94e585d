import { sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../test/support/orders.ts';
import { connect } from '../db.ts';
import { createErrorFormatter, isDatabaseUnavailable } from '../errors.ts';

// A pool pointed at a port nothing listens on: the errors postgres.js and drizzle really throw when PostgreSQL is down.
const handle = connect(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { max: 1 });

afterAll(async () => {
  await handle.close();
});

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

it('knows an unreachable database in what drizzle and postgres.js throw', async () => {
  expect(isDatabaseUnavailable(await failure(() => handle.db.execute(sql`select 1`)))).toBe(true);
  expect(isDatabaseUnavailable(await failure(() => handle.db.transaction(async (tx) => tx.execute(sql`select 1`))))).toBe(true);
  expect(isDatabaseUnavailable(await failure(() => handle.sql`select 1`))).toBe(true);
});

it('takes a statement PostgreSQL refused, or an HTTP call that failed, for what it is', () => {
  expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
  // Another call's refused connection, kept as a cause: not the database's.
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  expect(isDatabaseUnavailable(new Error('inventory unreachable', { cause: refused }))).toBe(false);
  for (const code of ['57P01', '57P03', '08006', '53300']) expect(isDatabaseUnavailable(Object.assign(new Error(code), { code }))).toBe(true);
});

it('answers SERVICE_UNAVAILABLE with retryAfter for it in a subgraph, INTERNAL_SERVER_ERROR elsewhere', async () => {
  // (Apollo hands it over wrapped in a GraphQLError with a path: test/outages/postgres-down.int.test.ts covers that on real subgraphs.)
  const error = await failure(() => handle.db.execute(sql`select 1`));
  const formatted = { message: 'Failed query: select 1', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  expect(createErrorFormatter(true, { database: true })(formatted, error)).toEqual({
    message: 'the database is unavailable; try again shortly',
    extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 2, dependency: 'database' },
  });
  expect(createErrorFormatter(true)(formatted, error)).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
});
