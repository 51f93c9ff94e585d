import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { connect } from '../db.ts';
import { listen, type Listening } from '../http.ts';
import { createLogger } from '../logger.ts';
import { createInventorySubgraph } from '../../subgraphs/inventory/server.ts';
import { createTestDatabase } from '../../test/support/db.ts';

const servers: Listening[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
  for (const cleanup of cleanups) await cleanup();
});

async function serve(databaseUrl: string) {
  const handle = connect(databaseUrl, { max: 1 });
  cleanups.push(() => handle.close());
  const { app } = await createInventorySubgraph({
    db: handle.db,
    config: parseConfig({ DATABASE_URL: databaseUrl }),
    logger: createLogger('ready-test', 'silent'),
  });
  const http = await listen(app, 0);
  servers.push(http);
  return http;
}

it('answers /ready 200 while its database answers', async () => {
  const database = await createTestDatabase('ready');
  cleanups.push(() => database.drop());
  const http = await serve(database.url);
  const res = await fetch(`${http.url}/ready`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'ready', service: 'inventory' });
});

it('answers /ready 503 while its database cannot be reached, and /health stays 200', async () => {
  // Nothing listens on port 1: every connection attempt is refused at once.
  const http = await serve('postgres://postgres@127.0.0.1:1/junction');
  const ready = await fetch(`${http.url}/ready`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ status: 'unavailable', service: 'inventory' });
  expect((await fetch(`${http.url}/health`)).status).toBe(200);
});
