import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type Config } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { createGateway } from '../../gateway/server.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { sample, scrape } from '../support/metrics.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const CATALOG = 'query Catalog { products(first: 5) { totalCount nodes { id name } } }';
const UPCOMING = 'query Upcoming { events(first: 5) { totalCount } }';
const UNLISTED = 'query Unlisted { products(first: 1) { totalCount } }';
const ADD_EVENT = 'mutation AddEvent($input: AddEventInput!) { addEvent(input: $input) { id name } }';
const CUSTOM_ID = 'upcoming-v1';

const dir = mkdtempSync(join(tmpdir(), 'junction-safelist-'));
const apolloManifest = (operations: { id: string; body: string; name: string; type: string }[]) =>
  JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2);
const APOLLO_FILE = join(dir, 'apollo.json');
const CODEGEN_FILE = join(dir, 'persisted-documents.json');
writeFileSync(
  APOLLO_FILE,
  apolloManifest([
    { id: sha256(CATALOG), body: CATALOG, name: 'Catalog', type: 'query' },
    // An id that is not a hash: Apollo's generator takes any id a team gives it.
    { id: CUSTOM_ID, body: UPCOMING, name: 'Upcoming', type: 'query' },
    { id: sha256(ADD_EVENT), body: ADD_EVENT, name: 'AddEvent', type: 'mutation' },
  ]),
);
writeFileSync(CODEGEN_FILE, JSON.stringify({ [sha256(CATALOG)]: CATALOG, [sha256(UPCOMING)]: UPCOMING }));

let stack: Stack;
let proxies: RecordingProxy[] = [];
const subgraphCalls = () => proxies.reduce((sum, proxy) => sum + proxy.exchanges.length, 0);
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startStack('door_safelist', { env: { EVENT_REGISTRY_URL: '' } });
  const urls: Partial<Config> = {};
  for (const { name, urlSetting } of SUBGRAPHS) {
    const proxy = await startRecordingProxy(new URL(stack.urls[name]!).origin);
    proxies.push(proxy);
    Object.assign(urls, { [urlSetting]: `${proxy.url}/graphql` });
  }
  baseConfig = { ...stack.config, ...urls };
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  for (const proxy of proxies) await proxy.close();
  proxies = [];
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

let baseConfig: Config;

interface DoorGateway {
  url: string;
  base: string;
  logs: Record<string, unknown>[];
}

/** A real gateway over the stack's subgraphs (each behind a recording proxy) with these door settings, its log lines kept. */
async function startDoorGateway(settings: Partial<Config>): Promise<DoorGateway> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (logs.push(JSON.parse(String(chunk))), done()) }));
  const gateway = await createGateway({ config: { ...baseConfig, ...settings }, logger });
  const http = await listen(gateway.app, 0);
  closers.push(async () => {
    await http.close();
    await gateway.close();
  });
  return { url: `${http.url}/graphql`, base: http.url, logs };
}

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] };
  calls: number;
}

/** Sends an operation: by `id` alone, by `text` alone, or both; as POST unless `get`. */
async function send(
  url: string,
  {
    id,
    text,
    variables,
    headers = {},
    get = false,
  }: { id?: string; text?: string; variables?: Record<string, unknown>; headers?: Record<string, string>; get?: boolean },
): Promise<Answer> {
  const before = subgraphCalls();
  const extensions = id ? { persistedQuery: { version: 1, sha256Hash: id } } : undefined;
  let response: Response;
  if (get) {
    const params = new URLSearchParams();
    if (text) params.set('query', text);
    if (extensions) params.set('extensions', JSON.stringify(extensions));
    if (variables) params.set('variables', JSON.stringify(variables));
    response = await fetch(`${url}?${params}`, { headers: { 'apollo-require-preflight': 'true', ...headers } });
  } else {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: text, variables, extensions }),
    });
  }
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'], calls: subgraphCalls() - before };
}

const codes = (answer: Answer) => answer.body.errors?.map((error) => error.extensions?.code);

function expectRan(answer: Answer, field: string) {
  expect({ status: answer.status, errors: answer.body.errors }).toEqual({ status: 200, errors: undefined });
  expect(answer.body.data?.[field]).toBeDefined();
  expect(answer.calls).toBeGreaterThan(0);
}

function expectRefused(answer: Answer, code: string, status = 400) {
  expect({ status: answer.status, codes: codes(answer), data: answer.body.data }).toEqual({ status, codes: [code], data: undefined });
  // Refused before planning: no subgraph saw it.
  expect(answer.calls).toBe(0);
}

/** A counter's value in Prometheus text, 0 before it counted anything. */
const count = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;

describe('OPERATIONS_SAFELIST=enforce', () => {
  it("runs manifest operations by id (also a custom id, also by GET) or by identical text; refuses anything else before planning; an admin's operations run", async () => {
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: APOLLO_FILE, OPERATIONS_SAFELIST: 'enforce' });
    const before = await scrape(gateway.base);

    expectRan(await send(gateway.url, { id: sha256(CATALOG) }), 'products');
    expectRan(await send(gateway.url, { id: CUSTOM_ID }), 'events');
    expectRan(await send(gateway.url, { id: sha256(CATALOG), get: true }), 'products');
    expectRan(await send(gateway.url, { text: CATALOG }), 'products');
    // The text with its hash (how an APQ client registers) runs too: the gateway resolved it, Apollo's APQ stays off.
    expectRan(await send(gateway.url, { text: CATALOG, id: sha256(CATALOG) }), 'products');

    expectRefused(await send(gateway.url, { text: UNLISTED }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRefused(await send(gateway.url, { text: `${CATALOG} ` }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRefused(await send(gateway.url, { text: UNLISTED, get: true }), 'PERSISTED_QUERY_NOT_IN_LIST');
    // A hash it does not know: APQ's answer, so a client falls back to the text, which is then checked.
    const unknown = await send(gateway.url, { id: sha256(UNLISTED) });
    expectRefused(unknown, 'PERSISTED_QUERY_NOT_FOUND', 200);
    expect(unknown.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
    expectRefused(await send(gateway.url, { text: UNLISTED, id: sha256(UNLISTED) }), 'PERSISTED_QUERY_NOT_IN_LIST');
    // A mutation not in the list never reaches its subgraph.
    expectRefused(
      await send(gateway.url, { text: 'mutation { addEvent(input: { name: "Not listed" }) { id } }', headers: await stack.as(randomUUID()) }),
      'PERSISTED_QUERY_NOT_IN_LIST',
    );

    // An admin is exempt, so operators keep Sandbox; a signed-in user is not.
    const user = await stack.as(randomUUID());
    expectRefused(await send(gateway.url, { text: UNLISTED, headers: user }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRan(await send(gateway.url, { text: UNLISTED, headers: stack.admin }), 'products');
    expectRan(await send(gateway.url, { text: UNLISTED, id: sha256(UNLISTED), headers: stack.admin }), 'products');

    const after = await scrape(gateway.base);
    const delta = (name: string, labels: Record<string, string>) => count(after, name, labels) - count(before, name, labels);
    expect(delta('junction_gateway_persisted_operations_total', { id: sha256(CATALOG), name: 'Catalog', sent_as: 'id' })).toBe(3);
    expect(delta('junction_gateway_persisted_operations_total', { id: sha256(CATALOG), name: 'Catalog', sent_as: 'text' })).toBe(1);
    expect(delta('junction_gateway_persisted_operations_total', { id: CUSTOM_ID, name: 'Upcoming', sent_as: 'id' })).toBe(1);
    expect(delta('junction_gateway_unlisted_operations_total', { outcome: 'refused' })).toBe(6);
    expect(delta('junction_gateway_unlisted_operations_total', { outcome: 'exempt' })).toBe(2);
    expect(delta('junction_gateway_errors_total', { code: 'PERSISTED_QUERY_NOT_IN_LIST' })).toBe(6);
  });

  it("reads GraphQL Code Generator's persisted-documents.json the same way, variables and all", async () => {
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: CODEGEN_FILE, OPERATIONS_SAFELIST: 'enforce' });
    expectRan(await send(gateway.url, { id: sha256(UPCOMING) }), 'events');
    expectRan(await send(gateway.url, { text: CATALOG }), 'products');
    expectRefused(
      await send(gateway.url, { text: ADD_EVENT, variables: { input: { name: 'x' } }, headers: await stack.as(randomUUID()) }),
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
  });
});

describe('OPERATIONS_SAFELIST=require-id', () => {
  it('runs manifest operations by id only: the text, even of a listed operation, is PERSISTED_QUERY_ID_REQUIRED; an unknown id PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: APOLLO_FILE, OPERATIONS_SAFELIST: 'require-id' });
    expectRan(await send(gateway.url, { id: sha256(CATALOG) }), 'products');
    expectRan(await send(gateway.url, { id: CUSTOM_ID, get: true }), 'events');
    expectRan(await send(gateway.url, { id: sha256(CATALOG), text: CATALOG }), 'products');
    const user = await stack.as(randomUUID());
    const added = await send(gateway.url, { id: sha256(ADD_EVENT), variables: { input: { name: 'By id' } }, headers: user });
    expectRan(added, 'addEvent');
    expect(added.body.data?.addEvent).toEqual({ id: expect.any(String), name: 'By id' });

    expectRefused(await send(gateway.url, { text: CATALOG }), 'PERSISTED_QUERY_ID_REQUIRED');
    expectRefused(await send(gateway.url, { text: UNLISTED }), 'PERSISTED_QUERY_ID_REQUIRED');
    expectRefused(await send(gateway.url, { id: sha256(UNLISTED) }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRefused(await send(gateway.url, { text: CATALOG, id: 'not-an-id' }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRan(await send(gateway.url, { text: UNLISTED, headers: stack.admin }), 'products');
  });
});

describe('OPERATIONS_SAFELIST=log and off', () => {
  it('log: operations outside the manifest run, each distinct one logged once with its text, and all counted', async () => {
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: APOLLO_FILE, OPERATIONS_SAFELIST: 'log' });
    const before = count(await scrape(gateway.base), 'junction_gateway_unlisted_operations_total', { outcome: 'run' });
    expectRan(await send(gateway.url, { text: UNLISTED }), 'products');
    expectRan(await send(gateway.url, { text: UNLISTED }), 'products');
    expectRan(await send(gateway.url, { id: sha256(CATALOG) }), 'products');
    expectRan(await send(gateway.url, { text: CATALOG }), 'products');
    const logged = gateway.logs.filter((line) => String(line.msg).startsWith('operation not in OPERATIONS_MANIFEST ran'));
    expect(logged).toEqual([expect.objectContaining({ level: 40, operationName: null, sha256: sha256(UNLISTED), query: UNLISTED })]);
    expect(count(await scrape(gateway.base), 'junction_gateway_unlisted_operations_total', { outcome: 'run' }) - before).toBe(2);
  });

  it('off: anything runs, APQ included, and manifest ids still resolve', async () => {
    // The hashes it registers expire from the shared Redis within a minute.
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: APOLLO_FILE, OPERATIONS_SAFELIST: 'off', APQ_TTL_SECONDS: 60 });
    expectRan(await send(gateway.url, { text: UNLISTED }), 'products');
    expectRan(await send(gateway.url, { id: CUSTOM_ID }), 'events');
    const apq = 'query Apq { events(first: 2) { totalCount } }';
    expect(codes(await send(gateway.url, { id: sha256(apq) }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expectRan(await send(gateway.url, { id: sha256(apq), text: apq }), 'events');
    // Apollo Server stores a registration without waiting for Redis: wait until the hash is known, then it runs by hash.
    await expect.poll(async () => codes(await send(gateway.url, { id: sha256(apq) })), { timeout: 10_000 }).toBeUndefined();
    expectRan(await send(gateway.url, { id: sha256(apq) }), 'events');
  });
});

describe('OPERATIONS_MANIFEST', () => {
  it('is reloaded when the file changes; a bad edit is logged and the last good list kept', async () => {
    const file = join(dir, 'reloaded.json');
    writeFileSync(file, apolloManifest([{ id: sha256(CATALOG), body: CATALOG, name: 'Catalog', type: 'query' }]));
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: file, OPERATIONS_SAFELIST: 'require-id' });
    expectRefused(await send(gateway.url, { id: CUSTOM_ID }), 'PERSISTED_QUERY_NOT_IN_LIST');

    // Written elsewhere and renamed over it, as generators and deploys do.
    writeFileSync(
      `${file}.tmp`,
      apolloManifest([
        { id: sha256(CATALOG), body: CATALOG, name: 'Catalog', type: 'query' },
        { id: CUSTOM_ID, body: UPCOMING, name: 'Upcoming', type: 'query' },
      ]),
    );
    renameSync(`${file}.tmp`, file);
    await expect.poll(async () => (await send(gateway.url, { id: CUSTOM_ID })).status, { timeout: 10_000, message: 'the added operation' }).toBe(200);
    expect(gateway.logs.some((line) => line.msg === 'persisted operations reloaded' && line.operations === 2)).toBe(true);

    writeFileSync(file, '{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x"');
    await expect
      .poll(() => gateway.logs.some((line) => String(line.msg).startsWith('ignoring an invalid OPERATIONS_MANIFEST')), {
        timeout: 10_000,
        message: 'the bad edit logged',
      })
      .toBe(true);
    expectRan(await send(gateway.url, { id: CUSTOM_ID }), 'events');
    expectRan(await send(gateway.url, { id: sha256(CATALOG) }), 'products');

    // Edited in place to drop an operation.
    writeFileSync(file, apolloManifest([{ id: CUSTOM_ID, body: UPCOMING, name: 'Upcoming', type: 'query' }]));
    await expect
      .poll(async () => (await send(gateway.url, { id: sha256(CATALOG) })).status, { timeout: 10_000, message: 'the dropped operation refused' })
      .toBe(400);
    expectRefused(await send(gateway.url, { id: sha256(CATALOG) }), 'PERSISTED_QUERY_NOT_IN_LIST');
    expectRan(await send(gateway.url, { id: CUSTOM_ID }), 'events');
  });

  it('a manifest the gateway cannot read at start stops it with one line naming OPERATIONS_MANIFEST', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"a","body":"{"}]}');
    await expect(startDoorGateway({ OPERATIONS_MANIFEST: bad, OPERATIONS_SAFELIST: 'enforce' })).rejects.toThrow(ConfigError);
    await expect(startDoorGateway({ OPERATIONS_MANIFEST: join(dir, 'missing.json'), OPERATIONS_SAFELIST: 'enforce' })).rejects.toThrow(
      /^invalid configuration: OPERATIONS_MANIFEST=".*missing\.json": cannot read it/,
    );

    // The gateway process: exit 1 and one line on stderr.
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/index.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        GATEWAY_PORT: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        OPERATIONS_MANIFEST: bad,
        OPERATIONS_SAFELIST: 'enforce',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^invalid configuration: OPERATIONS_MANIFEST=".*bad\.json": operations\[0\]: the body is not GraphQL/),
    ]);
  }, 120_000);

  it('docs/api/operations/manifest.json runs as it is in enforce mode', async () => {
    const gateway = await startDoorGateway({ OPERATIONS_MANIFEST: join(ROOT, 'docs/api/operations/manifest.json'), OPERATIONS_SAFELIST: 'enforce' });
    const catalog = (
      JSON.parse(readFileSync(join(ROOT, 'docs/api/operations/manifest.json'), 'utf8')) as { operations: { id: string; name: string }[] }
    ).operations.find((o) => o.name === 'Catalog')!;
    expectRan(await send(gateway.url, { id: catalog.id, variables: { first: 3 }, get: true }), 'products');
  });
});
