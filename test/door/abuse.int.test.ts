import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { createLogger } from '../../common/logger.ts';
import { listen } from '../../common/http.ts';
import { createGateway } from '../../gateway/server.ts';
import { MAX_DIRECTIVES } from '../../gateway/limits.ts';
import { startTestIdentity, type TestIdentity } from '../support/identity.ts';
import { startRecordedGateway, type RecordedGateway } from '../support/recorded-gateway.ts';
import { startStack, type Stack } from '../support/stack.ts';

const SHARED_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request as a hostile client may send it: any method, headers and bytes, from a chosen local address. */
function raw(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; from?: string } = {},
): Promise<Raw> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: options.path ?? target.pathname,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
        localAddress: options.from,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = { 'content-type': 'application/json' };
const post = (body: unknown) => ({ headers: json, body: JSON.stringify(body) });

describe('abuse and mistakes at the gateway', () => {
  let stack: Stack;
  let gateway: RecordedGateway;

  beforeAll(async () => {
    stack = await startStack('door_abuse', { env: { EVENT_REGISTRY_URL: '' } });
    gateway = await startRecordedGateway(stack);
  });

  afterAll(async () => {
    await gateway?.close();
    await stack?.close();
  });

  async function expectRefused(body: unknown, status: number, code: string) {
    const before = gateway.subgraphCalls();
    const answer = await raw(gateway.url, post(body));
    expect({ status: answer.status, codes: JSON.parse(answer.text).errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code) }).toEqual({
      status,
      codes: [code],
    });
    expect(gateway.subgraphCalls()).toBe(before);
  }

  it('an operationName the document does not contain, or none for several operations, is 400 OPERATION_RESOLUTION_FAILURE before any subgraph call', async () => {
    await expectRefused({ query: 'query A { products(first: 1) { totalCount } }', operationName: 'B' }, 400, 'OPERATION_RESOLUTION_FAILURE');
    await expectRefused(
      { query: 'query A { products(first: 1) { totalCount } } query B { events(first: 1) { totalCount } }' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    );
    // The name that is there runs.
    const ok = await raw(
      gateway.url,
      post({ query: 'query A { products(first: 1) { totalCount } } query B { events(first: 1) { totalCount } }', operationName: 'B' }),
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).data).toEqual({ events: { totalCount: expect.any(Number) } });
  });

  it(`more than ${MAX_DIRECTIVES} directives in an operation is 400 MAX_DIRECTIVES_LIMIT, fragments counted; ${MAX_DIRECTIVES} pass`, async () => {
    // The same field many times over, each with its own directive (a directive twice on one field is invalid anyway).
    const many = (n: number) => Array.from({ length: n }, () => 'totalCount @include(if: true)').join(' ');
    await expectRefused({ query: `{ products(first: 1) { ${many(MAX_DIRECTIVES + 1)} } }` }, 400, 'MAX_DIRECTIVES_LIMIT');
    await expectRefused(
      { query: `{ products(first: 1) { ...F ...F } } fragment F on ProductConnection { ${many(MAX_DIRECTIVES / 2 + 1)} }` },
      400,
      'MAX_DIRECTIVES_LIMIT',
    );
    const ok = await raw(gateway.url, post({ query: `{ products(first: 1) { ${many(MAX_DIRECTIVES)} } }` }));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).errors).toBeUndefined();
  });

  it('a body over 1 MB is 413 PAYLOAD_TOO_LARGE in a JSON body', async () => {
    const answer = await raw(gateway.url, post({ query: '{ __typename }', variables: { padding: 'x'.repeat(1024 * 1024) } }));
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(answer.text)).toEqual({
      errors: [{ message: 'request body too large: at most 1048576 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: 1048576 } }],
    });
  });

  it('hostile and malformed requests: never a 5xx, every error with a code, and every process still serves', async () => {
    const url = gateway.url;
    const preflighted = { 'apollo-require-preflight': 'true' };
    const get = (search: string, headers: Record<string, string> = preflighted) => ({ method: 'GET', path: `/graphql?${search}`, headers });
    const q = (query: string) => encodeURIComponent(query);
    const deepJson = `{"query":"query($v: JSON) { __typename }","variables":{"v":${'['.repeat(20000)}${']'.repeat(20000)}}}`;
    const cases: [string, Parameters<typeof raw>[1]][] = [
      ['truncated JSON', { headers: json, body: '{"query":' }],
      ['JSON null', { headers: json, body: 'null' }],
      ['a JSON string', { headers: json, body: '"{ __typename }"' }],
      ['an empty batch', { headers: json, body: '[]' }],
      ['a batch', post([{ query: '{ __typename }' }, { query: '{ __typename }' }])],
      ['an empty object', post({})],
      ['query a number', post({ query: 42 })],
      ['query empty', post({ query: '' })],
      ['query an object', post({ query: { kind: 'Document' } })],
      ['variables a string', post({ query: '{ __typename }', variables: 'nope' })],
      ['variables an array', post({ query: '{ __typename }', variables: [1, 2] })],
      ['operationName a number', post({ query: '{ __typename }', operationName: 42 })],
      ['an unknown operationName', post({ query: 'query A { __typename }', operationName: 'Nope' })],
      ['two anonymous operations', post({ query: '{ __typename } { __typename }' })],
      ['extensions a string', post({ query: '{ __typename }', extensions: 'x' })],
      ['persistedQuery version 2', post({ extensions: { persistedQuery: { version: 2, sha256Hash: 'ab' } } })],
      ['persistedQuery hash a number', post({ extensions: { persistedQuery: { version: 1, sha256Hash: 123 } } })],
      [
        'persistedQuery hash not matching the text',
        post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
      ],
      ['persistedQuery an unknown hash', post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } })],
      ['persistedQuery null', post({ query: '{ __typename }', extensions: { persistedQuery: null } })],
      ['a syntax error', post({ query: '{' })],
      ['an unknown field', post({ query: '{ nope }' })],
      ['a subscription', post({ query: 'subscription S { orderUpdated(id: "1") { id } }' })],
      ['fragments spreading each other', post({ query: 'fragment A on Query { ...B } fragment B on Query { ...A } { ...A }' })],
      ['a variable of the wrong type', post({ query: 'query ($first: Int) { products(first: $first) { totalCount } }', variables: { first: 'many' } })],
      ['a missing required variable', post({ query: 'query ($id: ID!) { product(id: $id) { id } }' })],
      ['__proto__ in variables', { headers: json, body: '{"query":"query ($id: ID!) { product(id: $id) { id } }","variables":{"__proto__":{"id":"x"}}}' }],
      ['a page size out of range', post({ query: '{ products(first: 100000) { totalCount } }' })],
      ['a malformed id', post({ query: '{ user(id: "not-a-uuid") { id } order(id: "1; drop table x") { id } }' })],
      ['1000 aliases', post({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: products(first: 1) { totalCount }`).join(' ')} }` })],
      ['100 levels deep', post({ query: `{ ${'events(first: 1) { nodes { organizer { '.repeat(34)} id ${'} } }'.repeat(34)} }` })],
      ['@defer', post({ query: '{ products(first: 1) { ... @defer { totalCount } } }' })],
      ['an unknown directive', post({ query: '{ __typename @nope }' })],
      ['a 10,000-character operation name', post({ query: `query ${'N'.repeat(10_000)} { __typename }` })],
      ['a NUL character', post({ query: '{ __typename \u0000 }' })],
      ['invalid UTF-8', { headers: json, body: Buffer.from([0x7b, 0x22, 0x71, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }],
      ['JSON nested 20,000 deep', { headers: json, body: deepJson }],
      ['an empty bearer token', { headers: { ...json, authorization: 'Bearer ' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a Basic authorization', { headers: { ...json, authorization: 'Basic dXNlcjpwYXNz' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a garbage token', { headers: { ...json, authorization: 'Bearer x.y.z' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['text/plain', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a form', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' }],
      [
        'multipart',
        {
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
          body: '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ __typename }\r\n--x--\r\n',
        },
      ],
      ['application/graphql', { headers: { 'content-type': 'application/graphql' }, body: '{ __typename }' }],
      ['no content type', { headers: {}, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['UTF-16 JSON', { headers: { 'content-type': 'application/json; charset=utf-16' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['gzip that is not gzip', { headers: { ...json, 'content-encoding': 'gzip' }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a 2 MB body', post({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } })],
      ['GET without a query', get('')],
      ['GET without a preflight header', get(`query=${q('{ __typename }')}`, {})],
      ['GET a mutation', get(`query=${q('mutation { deleteUser(id: "00000000-0000-0000-0000-000000000000") }')}`)],
      ['GET variables not JSON', get(`query=${q('{ __typename }')}&variables=%7Bnope`)],
      ['GET extensions not JSON', get(`query=${q('{ __typename }')}&extensions=%7Bnope`)],
      ['GET the query twice', get(`query=${q('{ __typename }')}&query=${q('{ __typename }')}`)],
      ['PUT', { method: 'PUT', ...post({ query: '{ __typename }' }) }],
      ['DELETE', { method: 'DELETE', headers: {} }],
      ['PATCH', { method: 'PATCH', ...post({ query: '{ __typename }' }) }],
      ['an OPTIONS that is no preflight', { method: 'OPTIONS', headers: {} }],
      ['a preflight from an unlisted origin', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } }],
    ];
    expect(cases.length).toBeGreaterThanOrEqual(50);
    const answers: { name: string; status: number; codes: unknown }[] = [];
    for (const [name, options] of cases) {
      const answer = await raw(url, options);
      let codes: unknown = 'not JSON';
      if (answer.status === 204) codes = [];
      else {
        try {
          const body = JSON.parse(answer.text) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
          codes = (body.errors ?? []).map((error) => error.extensions?.code);
          if (!body.errors && body.data === undefined) codes = 'neither data nor errors';
        } catch {
          codes = `not JSON: ${answer.text.slice(0, 80)}`;
        }
      }
      answers.push({ name, status: answer.status, codes });
    }
    // Every answer below 500; every error carries a code (a 200 with data and no errors has none to carry).
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.filter((a) => !Array.isArray(a.codes) || a.codes.some((code) => typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR'))).toEqual([]);
    // The refusals are refusals: everything but a few that are answered normally is 4xx.
    const answered = answers.filter((a) => a.status === 200).map((a) => a.name);
    expect(answered.sort()).toEqual(
      ['persistedQuery hash a number', 'persistedQuery an unknown hash', 'persistedQuery null', 'a malformed id', 'a 10,000-character operation name'].sort(),
    );
    for (const base of [new URL(gateway.url).origin, ...Object.values(stack.urls).map((u) => new URL(u!).origin)]) {
      expect((await fetch(`${base}/health`)).status).toBe(200);
    }
  });
});

describe('a flood of bad bearer tokens', () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity();
  });
  afterAll(async () => {
    await identity?.close();
  });

  it('counts against the client address before the 401: of 200 garbage tokens from one address, those past the limit are 429 RATE_LIMITED', async () => {
    const prefix = `jt-door-${randomUUID().slice(0, 8)}`;
    const limit = 50;
    const config = parseConfig({ NODE_ENV: 'test', ...identity.env, REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: String(limit) });
    const gateway = await createGateway({ config, logger: createLogger('door-abuse', 'silent') });
    const http = await listen(gateway.app, 0);
    try {
      const url = `${http.url}/graphql`;
      const statuses: number[] = [];
      const codes = new Set<unknown>();
      for (let i = 0; i < 200; i++) {
        const answer = await raw(url, {
          from: '127.0.0.1',
          headers: { ...json, authorization: `Bearer garbage-${i}` },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        statuses.push(answer.status);
        codes.add(JSON.parse(answer.text).errors[0].extensions.code);
      }
      expect(statuses.slice(0, limit).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(limit).every((s) => s === 429)).toBe(true);
      expect([...codes].sort()).toEqual(['RATE_LIMITED', 'UNAUTHENTICATED']);
      // The same address is limited whatever it sends now, a valid token's viewer is counted on their own, and another address has its allowance.
      expect((await raw(url, { from: '127.0.0.1', ...post({ query: '{ __typename }' }) })).status).toBe(429);
      const signedIn = await raw(url, {
        from: '127.0.0.1',
        headers: { ...json, ...(await identity.headers(randomUUID())) },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(signedIn.status).toBe(200);
      expect(
        (await raw(url, { from: '127.0.0.2', headers: { ...json, authorization: 'Bearer garbage' }, body: JSON.stringify({ query: '{ __typename }' }) }))
          .status,
      ).toBe(401);
    } finally {
      await http.close();
      await gateway.close();
      const redis = new Redis(SHARED_REDIS);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
