/**
 * User.enrichment latency at the users subgraph, over real HTTP, against the
 * simulated enrichment service (external/): healthy and called on every
 * request, healthy with fresh stored data, down with the breaker open, and the
 * same query without the field.
 */
import { parseConfig } from '../../scripts/settings.ts';
import { connect } from '../../common/db.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createExternalApp } from '../../external/server.ts';
import { Enrichments } from '../../subgraphs/users/enrichment.ts';
import { UsersRepository } from '../../subgraphs/users/repository.ts';
import { createUsersSubgraph } from '../../subgraphs/users/server.ts';
import { createTestDatabase } from '../../test/support/db.ts';
import { latencyTable, measure, measureInterleaved, type Latency } from '../measure.ts';

export const name = 'enrichment';

const USERS = 200;
const SINGLE_N = 500;
const PAGE_N = 150;
const DIRECT_N = 2000;

type Case = 'calls' | 'fresh' | 'open' | 'without';

const ENRICHED = 'id name email enrichment { status company jobTitle location fetchedAt }';
const PLAIN = 'id name email';

/** An admin's Authorization (email and enrichment are (self) fields), from the healthy partner's identity provider. */
let signedIn: Record<string, string> = {};

async function post(url: string, query: string, variables: Record<string, unknown>, check: (data: any) => void): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedIn },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`bench query failed: ${JSON.stringify(body.errors)}`);
  check(body.data);
}

function expectStatus(statuses: string[], wanted: string): void {
  if (statuses.some((status) => status !== wanted)) throw new Error(`expected every enrichment ${wanted}, got ${[...new Set(statuses)].join(', ')}`);
}

export async function run(): Promise<string> {
  const database = await createTestDatabase('bench_enrichment');
  const handle = connect(database.url);
  const closers: (() => Promise<void>)[] = [];
  try {
    const rows = await handle.sql<{ id: string }[]>`
      insert into users.users (name, email)
      select 'Bench user ' || i, 'bench' || i || '@example.com' from generate_series(1, ${USERS}) as i
      returning id`;
    const ids = rows.map((row) => row.id);

    // Two simulated partners: one healthy, one answering 503 to everything.
    const partners: Listening[] = [];
    const downApp = createExternalApp({ logger: createLogger('external', 'silent') });
    const healthyApp = createExternalApp({ logger: createLogger('external', 'silent') });
    for (const app of [healthyApp, downApp]) {
      const http = await listen(app.app, 0);
      partners.push(http);
      closers.push(() => http.close());
    }
    const [healthy, down] = partners as [Listening, Listening];
    downApp.state.setChaos('enrichment', { failureRate: 1, latencyMs: 0 });
    signedIn = { authorization: `Bearer ${await healthyApp.identity.mint({ sub: 'bench', roles: ['admin'] })}` };
    const auth = { AUTH_JWKS_URL: `${healthy.url}/.well-known/jwks.json` };

    const logger = createLogger('users', 'silent');
    const start = async (env: Record<string, string>) => {
      const subgraph = await createUsersSubgraph({ db: handle.db, config: parseConfig({ NODE_ENV: 'production', ...auth, ...env }), logger });
      const http = await listen(subgraph.app, 0);
      closers.push(async () => {
        await http.close();
        await subgraph.apollo.stop();
        await subgraph.close();
      });
      return { url: `${http.url}/graphql`, breaker: subgraph.enrichment.breaker, partner: subgraph.enrichment };
    };
    // TTL 0: every request asks the partner. Reset timeout of an hour: the open breaker stays open for the run.
    const calls = await start({ ENRICHMENT_URL: healthy.url, ENRICHMENT_TTL_MS: '0' });
    const fresh = await start({ ENRICHMENT_URL: healthy.url });
    const open = await start({ ENRICHMENT_URL: down.url, ENRICHMENT_TTL_MS: '0', BREAKER_RESET_TIMEOUT_MS: '3600000' });

    // Every user fetched once (fresh from now on, and last-known-good for the open case), then open the breaker.
    const single = `query($id: ID!) { user(id: $id) { ${ENRICHED} } }`;
    for (const id of ids) await post(fresh.url, single, { id }, (data) => expectStatus([data.user.enrichment.status], 'AVAILABLE'));
    for (let i = 0; open.breaker.state !== 'OPEN'; i++) {
      if (i > 50) throw new Error('the enrichment breaker did not open');
      await post(open.url, single, { id: ids[i]! }, () => {});
    }

    const callsBefore = { healthy: healthyApp.state.calls.length, down: downApp.state.calls.length };
    const user = (url: string, fields: string, status?: string) => (i: number) =>
      post(url, `query($id: ID!) { user(id: $id) { ${fields} } }`, { id: ids[i % USERS]! }, (data) => {
        if (status) expectStatus([data.user.enrichment.status], status);
      });
    const singleCases: Record<Case, (i: number) => Promise<void>> = {
      calls: user(calls.url, ENRICHED, 'AVAILABLE'),
      fresh: user(fresh.url, ENRICHED, 'AVAILABLE'),
      open: user(open.url, ENRICHED, 'STALE'),
      without: user(fresh.url, PLAIN),
    };
    const singleResults = await measureInterleaved(singleCases, SINGLE_N);
    const singleCalls = { healthy: healthyApp.state.calls.length - callsBefore.healthy, down: downApp.state.calls.length - callsBefore.down };

    const page = (url: string, fields: string, status?: string) => () =>
      post(url, `{ users(first: 20) { nodes { ${fields} } } }`, {}, (data) => {
        if (status)
          expectStatus(
            data.users.nodes.map((u: any) => u.enrichment.status),
            status,
          );
      });
    const pageBefore = { healthy: healthyApp.state.calls.length, down: downApp.state.calls.length };
    const pageResults = await measureInterleaved(
      {
        calls: page(calls.url, ENRICHED, 'AVAILABLE'),
        fresh: page(fresh.url, ENRICHED, 'AVAILABLE'),
        open: page(open.url, ENRICHED, 'STALE'),
        without: page(fresh.url, PLAIN),
      } satisfies Record<Case, () => Promise<void>>,
      PAGE_N,
    );
    const pageCalls = { healthy: healthyApp.state.calls.length - pageBefore.healthy, down: downApp.state.calls.length - pageBefore.down };

    // The field's own work with the breaker open, without HTTP and GraphQL around it: what the loader's batch costs.
    const repo = new UsersRepository(handle.db);
    const openEnrichments = new Enrichments(repo, open.partner, { ttlMs: 0, logger });
    const direct = await measure(async (i) => {
      const [enrichment] = await openEnrichments.forUsers([ids[i % USERS]!]);
      if (enrichment?.status !== 'STALE') throw new Error(`expected STALE, got ${enrichment?.status}`);
    }, DIRECT_N);
    const directPage = await measure(async (i) => {
      const batch = await openEnrichments.forUsers(ids.slice((i * 20) % USERS, ((i * 20) % USERS) + 20));
      expectStatus(
        batch.map((e) => e.status),
        'STALE',
      );
    }, DIRECT_N / 4);
    if (open.breaker.state !== 'OPEN') throw new Error('the breaker closed during the run');

    const labels: Record<Case, string> = {
      calls: 'healthy partner, called on every request (TTL 0)',
      fresh: 'healthy partner, stored data fresh (no call)',
      open: 'partner down (503), breaker open: STALE served',
      without: 'same query without `enrichment`',
    };
    const warmups = (n: number) => Math.ceil(n / 10);
    const table = (results: Record<Case, Latency>, partnerCalls: { healthy: number; down: number }, n: number) =>
      latencyTable(
        (Object.keys(labels) as Case[]).map((key) => ({
          label: labels[key],
          latency: results[key],
          extra: {
            'p50 added': key === 'without' ? '—' : `${(results[key].p50 - results.without.p50).toFixed(2)} ms`,
            'p99 added': key === 'without' ? '—' : `${(results[key].p99 - results.without.p99).toFixed(2)} ms`,
            'partner calls': key === 'calls' ? String(partnerCalls.healthy) : key === 'open' ? String(partnerCalls.down) : '0',
          },
        })),
      ) + `\n\nPartner calls count the measured requests and the ${warmups(n)} warm-up requests of each case.`;

    const openAdds = singleResults.open.p99 - singleResults.without.p99;
    return [
      '## Enrichment (User.enrichment)',
      '',
      `The users subgraph over HTTP on this machine (no gateway), PostgreSQL local, the simulated enrichment service (external/) in the same process. ${USERS} users; requests one at a time, the four cases interleaved so background load falls on all alike. Defaults otherwise: ENRICHMENT_TIMEOUT_MS 1000, retries after 100/200/400 ms, breaker at 50% of ≥ 5 calls.`,
      '',
      `### One user per request: \`user(id) { ${ENRICHED} }\``,
      '',
      table(singleResults, singleCalls, SINGLE_N),
      '',
      '### A page of 20 users: `users(first: 20) { nodes { … } }` (one read of stored data, then up to 8 partner calls at a time)',
      '',
      table(pageResults, pageCalls, PAGE_N),
      '',
      "### The enrichment batch alone, breaker open (`Enrichments.forUsers`, in process: one read of users.enrichments, the open breaker's fallback, no HTTP)",
      '',
      latencyTable([
        { label: 'one user', latency: direct },
        { label: '20 users', latency: directPage },
      ]),
      '',
      `With the breaker open the field added ${(singleResults.open.p50 - singleResults.without.p50).toFixed(2)} ms at p50 and ${openAdds.toFixed(2)} ms at p99 to a one-user query end to end, with no partner call; its own work took ${direct.p50.toFixed(2)} ms at p50 and ${direct.p99.toFixed(2)} ms at p99. End-to-end p99 differences on a shared machine are mostly scheduling noise (compare the fresh-data row, which makes no call either).`,
    ].join('\n');
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await handle.close();
    await database.drop();
  }
}
