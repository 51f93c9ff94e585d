import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn } from '../support/graphql.ts';
import { startGateway, startStack, type Stack, type TestGateway } from '../support/stack.ts';

// Persisted queries by GET and the Cache-Control the gateway computes from the subgraphs' @cacheControl hints
// (docs/operations/cdn.md): public reads are cacheable by a CDN, a viewer's data and mutations never are.

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const CATALOG = 'query Catalog { products(first: 5) { totalCount nodes { id name } } }';
const STOCK = 'query Stock { products(first: 5) { nodes { id stock } } }';
const ORGANIZERS = 'query Organizers { events(first: 5) { nodes { name organizer { name } } } }';
const PROFILE = 'query Profile($id: ID!) { user(id: $id) { name events { name } } }';
const OWN_PROFILE = 'query OwnProfile($id: ID!) { user(id: $id) { name email } }';
const ME = 'query Me { me { email } }';
const MOVEMENTS = 'query Movements($id: ID!) { product(id: $id) { name movements { quantity } } }';
const CREATE_PRODUCT = 'mutation CreateProduct($input: CreateProductInput!) { createProduct(input: $input) { id } }';

let stack: Stack;
const { gqlData } = signedIn(() => stack.admin);
const dir = mkdtempSync(join(tmpdir(), 'junction-get-cache-'));
let userId: string;
let viewer: Record<string, string>;
const gateways: TestGateway[] = [];

interface Answer {
  status: number;
  cacheControl: string | null;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** A GET as Apollo Client's persisted query link sends it with useGETForHashedQueries: the hash alone, in the query string, and its Content-Type header. */
async function getByHash(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  id = sha256(query),
): Promise<Answer> {
  const params = new URLSearchParams({
    operationName: /^(?:query|mutation) (\w+)/.exec(query)![1]!,
    variables: JSON.stringify(variables),
    extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: id } }),
  });
  const response = await fetch(`${url}?${params}`, { headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.status, cacheControl: response.headers.get('cache-control'), body: (await response.json()) as Answer['body'] };
}

/** Registers an APQ hash as Apollo Client does after PERSISTED_QUERY_NOT_FOUND: a POST with the text and the hash (the operation runs). */
async function register(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }),
  });
  expect(response.status).toBe(200);
}

const PUBLIC = /^max-age=(\d+), public$/;
const maxAgeOf = (answer: Answer) => Number(PUBLIC.exec(answer.cacheControl ?? '')?.[1]);

beforeAll(async () => {
  // No event registry: addEvent stores at once.
  stack = await startStack('door_get_cache', { env: { EVENT_REGISTRY_URL: '' } });
  await gqlData(stack.gatewayUrl, CREATE_PRODUCT, { input: { id: 'GET-1', name: 'Cacheable', priceCents: 100, stock: 5 } });
  userId = (await gqlData(stack.gatewayUrl, 'mutation { createUser(input: { name: "Grace", email: "grace@example.com" }) { id } }')).createUser.id;
  await gqlData(stack.gatewayUrl, 'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }', { input: { name: 'Launch', userId } });
  viewer = await stack.as(userId);
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('persisted queries by GET', () => {
  it('a public query sent by its APQ hash answers with Cache-Control: public and the max-age of its hints, signed in or not', async () => {
    expect(await getByHash(stack.gatewayUrl, CATALOG)).toMatchObject({
      status: 200,
      body: { errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] },
    });
    await register(CATALOG);
    for (const headers of [{}, viewer]) {
      const answer = await getByHash(stack.gatewayUrl, CATALOG, {}, headers);
      expect(answer).toMatchObject({
        status: 200,
        cacheControl: 'max-age=60, public',
        body: { data: { products: { totalCount: 1, nodes: [{ id: 'GET-1', name: 'Cacheable' }] } } },
      });
      expect(answer.body.errors).toBeUndefined();
    }
    // The most restrictive hint wins: stock may be 10 s old, the catalogue 60 s.
    await register(STOCK);
    expect(await getByHash(stack.gatewayUrl, STOCK)).toMatchObject({
      status: 200,
      cacheControl: 'max-age=10, public',
      body: { data: { products: { nodes: [{ stock: 5 }] } } },
    });
  });

  it('public data from two subgraphs (an entity fetch) is public too, with the smaller max-age', async () => {
    for (const [query, variables, data] of [
      [ORGANIZERS, {}, { events: { nodes: [{ name: 'Launch', organizer: { name: 'Grace' } }] } }],
      [PROFILE, { id: userId }, { user: { name: 'Grace', events: [{ name: 'Launch' }] } }],
    ] as const) {
      await register(query, variables);
      const answer = await getByHash(stack.gatewayUrl, query, variables);
      expect(answer).toMatchObject({ status: 200, body: { data } });
      expect(answer.body.errors).toBeUndefined();
      expect(maxAgeOf(answer)).toBe(60);
    }
  });

  it("a viewer's own data is never public: me, a user's email, an admin-only field, and any answer with errors", async () => {
    await register(ME, {}, viewer);
    const me = await getByHash(stack.gatewayUrl, ME, {}, viewer);
    expect(me).toMatchObject({ status: 200, cacheControl: 'no-store', body: { data: { me: { email: 'grace@example.com' } } } });

    await register(OWN_PROFILE, { id: userId }, viewer);
    const own = await getByHash(stack.gatewayUrl, OWN_PROFILE, { id: userId }, viewer);
    expect(own).toMatchObject({ status: 200, cacheControl: 'no-store', body: { data: { user: { name: 'Grace', email: 'grace@example.com' } } } });

    // Someone else asking for the email: FORBIDDEN, and an answer with errors is never stored.
    const other = await getByHash(stack.gatewayUrl, OWN_PROFILE, { id: userId }, await stack.as(randomUUID()));
    expect(other.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.cacheControl).toBe('no-store');

    await register(MOVEMENTS, { id: 'GET-1' }, stack.admin);
    const movements = await getByHash(stack.gatewayUrl, MOVEMENTS, { id: 'GET-1' }, stack.admin);
    expect(movements).toMatchObject({
      status: 200,
      cacheControl: 'no-store',
      body: { data: { product: { name: 'Cacheable', movements: [{ quantity: 5 }] } } },
    });
  });

  it('a mutation never runs over GET: 405 BAD_REQUEST with Allow: POST, and nothing changes', async () => {
    const input = { id: 'GET-MUTATION', name: 'Never', priceCents: 1, stock: 1 };
    const params = new URLSearchParams({ query: CREATE_PRODUCT, operationName: 'CreateProduct', variables: JSON.stringify({ input }) });
    const response = await fetch(`${stack.gatewayUrl}?${params}`, { headers: { ...stack.admin, 'apollo-require-preflight': 'true' } });
    const body = (await response.json()) as Answer['body'];
    expect({ status: response.status, allow: response.headers.get('allow'), code: body.errors?.[0]?.extensions?.code, data: body.data }).toEqual({
      status: 405,
      allow: 'POST',
      code: 'BAD_REQUEST',
      data: undefined,
    });
    expect(response.headers.get('cache-control')).not.toMatch(/public/);
    // Nor by an APQ hash sent with the text by GET.
    const hashed = await fetch(
      `${stack.gatewayUrl}?${params}&extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(CREATE_PRODUCT) } }))}`,
      {
        headers: { ...stack.admin, 'content-type': 'application/json' },
      },
    );
    expect(hashed.status).toBe(405);
    expect((await gqlData(stack.gatewayUrl, 'query($id: ID!) { product(id: $id) { id } }', { id: input.id })).product).toBeNull();
  });

  it('under OPERATIONS_SAFELIST=enforce, a query sent by its manifest id by GET runs and is public; a listed mutation by id is still 405', async () => {
    const manifest = join(dir, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        format: 'apollo-persisted-query-manifest',
        version: 1,
        operations: [
          { id: 'catalog-v1', body: CATALOG, name: 'Catalog', type: 'query' },
          { id: sha256(CREATE_PRODUCT), body: CREATE_PRODUCT, name: 'CreateProduct', type: 'mutation' },
        ],
      }),
    );
    const gateway = await startGateway({ ...stack.config, OPERATIONS_MANIFEST: manifest, OPERATIONS_SAFELIST: 'enforce' }, 'door-get-enforce');
    gateways.push(gateway);

    const byId = await getByHash(gateway.url, CATALOG, {}, {}, 'catalog-v1');
    expect(byId).toMatchObject({ status: 200, cacheControl: 'max-age=60, public', body: { data: { products: { nodes: [{ id: 'GET-1' }] } } } });
    // What is not in the list is refused by GET as by POST.
    const unlisted = await getByHash(gateway.url, ORGANIZERS);
    expect(unlisted.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(unlisted.cacheControl).not.toMatch(/public/);

    const input = { id: 'GET-BY-ID', name: 'Never', priceCents: 1, stock: 1 };
    const mutation = await getByHash(gateway.url, CREATE_PRODUCT, { input }, stack.admin);
    expect({ status: mutation.status, code: mutation.body.errors?.[0]?.extensions?.code }).toEqual({ status: 405, code: 'BAD_REQUEST' });
    expect((await gqlData(stack.gatewayUrl, 'query($id: ID!) { product(id: $id) { id } }', { id: input.id })).product).toBeNull();
  });

  it('CSRF prevention refuses a simple GET (no preflight-triggering header); what Apollo Client sends passes', async () => {
    await register(CATALOG);
    const params = new URLSearchParams({
      operationName: 'Catalog',
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(CATALOG) } }),
    });
    // An <img src> or a script's fetch without custom headers: a simple request, sent cross-site with the user's cookies.
    const simple = await fetch(`${stack.gatewayUrl}?${params}`, { headers: { origin: 'https://evil.example' } });
    const body = (await simple.json()) as Answer['body'];
    expect({ status: simple.status, code: body.errors?.[0]?.extensions?.code, data: body.data }).toEqual({ status: 400, code: 'BAD_REQUEST', data: undefined });
    expect(body.errors![0]!.message).toMatch(/Cross-Site Request Forgery/);
    expect(simple.headers.get('cache-control')).toBe('no-store');
    // Apollo Client sends Content-Type: application/json on its GETs (a browser preflights that); other clients send apollo-require-preflight.
    for (const headers of [{ 'content-type': 'application/json' }, { 'apollo-require-preflight': 'true' }] as Record<string, string>[]) {
      const response = await fetch(`${stack.gatewayUrl}?${params}`, { headers });
      expect({ headers, status: response.status, cacheControl: response.headers.get('cache-control') }).toEqual({
        headers,
        status: 200,
        cacheControl: 'max-age=60, public',
      });
    }
  });
});
