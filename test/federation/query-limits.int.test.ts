import { randomUUID } from 'node:crypto';
import { Kind, OperationTypeNode, parse, print, type DocumentNode, type OperationDefinitionNode, type TypeNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { fencedBlocks, projectDocs } from '../support/docs.ts';
import { gql } from '../support/graphql.ts';
import { startRecordedGateway, type RecordedGateway } from '../support/recorded-gateway.ts';
import { startStack, type Stack } from '../support/stack.ts';

const DEFAULTS = parseConfig({});
const LIMIT_CODES = ['MAX_DEPTH_LIMIT', 'MAX_ALIASES_LIMIT', 'COST_ESTIMATED_TOO_EXPENSIVE', 'GRAPHQL_PARSE_FAILED'];

let stack: Stack;
let gateway: RecordedGateway;

beforeAll(async () => {
  stack = await startStack('query_limits', { env: { EVENT_REGISTRY_URL: '' } });
  // The stack's own settings leave every limit at its default.
  gateway = await startRecordedGateway(stack);
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

/** `a { b { c } }` from ['a', 'b', 'c']. */
function nest(fields: string[]): string {
  return fields.reduceRight((inner, field) => (inner ? `${field} { ${inner} }` : field), '');
}

/** Fields nesting `depth` deep through Event.organizer -> User.events -> ... (public fields; every list asks for one row, so cost stays low). */
function chain(depth: number): string[] {
  const fields = ['events(first: 1)', 'nodes'];
  while (fields.length < depth - 1) fields.push(fields.length % 2 === 0 ? 'organizer' : 'events(first: 1)');
  return [...fields.slice(0, depth - 1), 'id'];
}

/** Sends `query` to the recording gateway; returns the response and how many subgraph calls it caused. */
async function send(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const before = gateway.subgraphCalls();
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables, operationName }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  return { status: response.status, ...body, calls: gateway.subgraphCalls() - before };
}

async function expectRejected(query: string, code: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const response = await send(query, variables, operationName);
  expect(response.status).toBe(400);
  expect(response.data).toBeUndefined();
  expect(response.errors?.map((e) => e.extensions?.code)).toEqual([code]);
  expect(response.calls).toBe(0);
  return response.errors![0]!;
}

async function expectAccepted(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const response = await send(query, variables, operationName);
  expect(response.status).toBe(200);
  expect(response.errors?.map((e) => e.extensions?.code).filter((code) => LIMIT_CODES.includes(String(code))) ?? []).toEqual([]);
  return response;
}

describe('MAX_QUERY_DEPTH', () => {
  it(`nesting deeper than the default ${DEFAULTS.MAX_QUERY_DEPTH} is MAX_DEPTH_LIMIT (HTTP 400) and reaches no subgraph`, async () => {
    const error = await expectRejected(`{ ${nest(chain(DEFAULTS.MAX_QUERY_DEPTH + 1))} }`, 'MAX_DEPTH_LIMIT');
    expect(error.message).toContain(`depth limit of ${DEFAULTS.MAX_QUERY_DEPTH}`);
    // At the limit the same shape runs (and does reach the subgraphs: the proxies count).
    expect((await expectAccepted(`{ ${nest(chain(DEFAULTS.MAX_QUERY_DEPTH))} }`)).calls).toBeGreaterThan(0);
  });

  it('follows named and inline fragments, including a fragment named __schema', async () => {
    const deep = chain(DEFAULTS.MAX_QUERY_DEPTH + 1);
    // events > nodes > (fragment on Event) organizer > events > ...
    const body = nest(deep.slice(2));
    await expectRejected(`{ events(first: 1) { nodes { ...Deep } } } fragment Deep on Event { ${body} }`, 'MAX_DEPTH_LIMIT');
    await expectRejected(`{ events(first: 1) { nodes { ...__schema } } } fragment __schema on Event { ${body} }`, 'MAX_DEPTH_LIMIT');
    await expectRejected(`{ events(first: 1) { nodes { ... on Event { ${body} } } } }`, 'MAX_DEPTH_LIMIT');
    // A fragment spread twice, and fragments inside fragments, count their full depth.
    const [head, ...rest] = deep.slice(2);
    await expectRejected(
      `{ events(first: 1) { nodes { ...A ...A } } } fragment A on Event { ${head} { ...B } } fragment B on User { ${nest(rest)} }`,
      'MAX_DEPTH_LIMIT',
    );
    // Fragments add no depth of their own.
    const atLimit = nest(chain(DEFAULTS.MAX_QUERY_DEPTH).slice(2));
    await expectAccepted(`{ events(first: 1) { nodes { ...__schema } } } fragment __schema on Event { ${atLimit} }`);
  });
});

describe('MAX_ALIASES', () => {
  const aliases = (n: number, prefix = 'a') => Array.from({ length: n }, (_, i) => `${prefix}${i}: id`).join(' ');

  it(`more aliases than the default ${DEFAULTS.MAX_ALIASES} is MAX_ALIASES_LIMIT (HTTP 400) and reaches no subgraph`, async () => {
    const error = await expectRejected(`{ events(first: 1) { nodes { ${aliases(DEFAULTS.MAX_ALIASES + 1)} } } }`, 'MAX_ALIASES_LIMIT');
    expect(error.message).toContain(`Aliases limit of ${DEFAULTS.MAX_ALIASES}`);
    expect((await expectAccepted(`{ events(first: 1) { nodes { ${aliases(DEFAULTS.MAX_ALIASES)} } } }`)).calls).toBeGreaterThan(0);
  });

  it('counts aliases inside fragments, each time a fragment is spread, also one named __schema', async () => {
    const half = Math.floor(DEFAULTS.MAX_ALIASES / 2) + 1;
    await expectRejected(
      `{ events(first: 1) { nodes { ...__schema } } e: event(id: "${randomUUID()}") { ...__schema } } fragment __schema on Event { ${aliases(half)} }`,
      'MAX_ALIASES_LIMIT',
    );
    await expectRejected(`{ events(first: 1) { nodes { ... on Event { ${aliases(DEFAULTS.MAX_ALIASES + 1)} } } } }`, 'MAX_ALIASES_LIMIT');
  });
});

describe('MAX_QUERY_TOKENS', () => {
  // `query Main { events(first: 1) { totalCount } }` is 13 tokens, each `__typename` added to it 1 more; `query Pn { __typename }` 5.
  function document(tokens: number): string {
    const pads = Math.floor((tokens - 13) / 5);
    const extra = Array.from({ length: tokens - 13 - pads * 5 }, () => '__typename').join(' ');
    return [`query Main { events(first: 1) { totalCount } ${extra} }`, ...Array.from({ length: pads }, (_, i) => `query P${i} { __typename }`)].join('\n');
  }

  it(`a document of more than the default ${DEFAULTS.MAX_QUERY_TOKENS} tokens is GRAPHQL_PARSE_FAILED (HTTP 400) and reaches no subgraph`, async () => {
    const error = await expectRejected(document(DEFAULTS.MAX_QUERY_TOKENS + 1), 'GRAPHQL_PARSE_FAILED', {}, 'Main');
    expect(error.message).toContain(`${DEFAULTS.MAX_QUERY_TOKENS} tokens`);
    expect((await expectAccepted(document(DEFAULTS.MAX_QUERY_TOKENS), {}, 'Main')).calls).toBeGreaterThan(0);
  });
});

describe('MAX_QUERY_COST', () => {
  const fanOut = 'events(first: 100) { nodes { organizer { events(first: 50) { organizer { events(first: 50) { name } } } } } }';

  it('100 x 50 x 50 rows is COST_ESTIMATED_TOO_EXPENSIVE (HTTP 400) and reaches no subgraph', async () => {
    const error = await expectRejected(`{ ${fanOut} }`, 'COST_ESTIMATED_TOO_EXPENSIVE');
    expect(error.extensions).toMatchObject({ maxCost: DEFAULTS.MAX_QUERY_COST });
    expect(error.extensions!.cost as number).toBeGreaterThan(100 * 50 * 50);
  });

  it('counts `first` given by variables or left at its default, and selections inside fragments (also one named __schema)', async () => {
    await expectRejected(
      'query($n: Int!, $m: Int) { events(first: $n) { nodes { organizer { events(first: $m) { organizer { events(first: $m) { name } } } } } } }',
      'COST_ESTIMATED_TOO_EXPENSIVE',
      { n: 100, m: 50 },
    );
    // User.events defaults to first: 50.
    await expectRejected('{ events(first: 100) { nodes { organizer { events { organizer { events { name } } } } } } }', 'COST_ESTIMATED_TOO_EXPENSIVE');
    await expectRejected(
      '{ events(first: 100) { nodes { ...__schema } } } fragment __schema on Event { organizer { events(first: 50) { organizer { events(first: 50) { name } } } } }',
      'COST_ESTIMATED_TOO_EXPENSIVE',
    );
    // Small pages of the same shape run.
    expect(
      (await expectAccepted('{ events(first: 5) { nodes { organizer { events(first: 5) { organizer { events(first: 5) { name } } } } } } }')).calls,
    ).toBeGreaterThan(0);
  });

  it('fragments that spread each other twice (2^20 fields from a few hundred tokens) are COST_ESTIMATED_TOO_EXPENSIVE', async () => {
    const levels = 20;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on User { ${i + 1 < levels ? `...F${i + 1} ...F${i + 1}` : 'id'} }`);
    const started = Date.now();
    await expectRejected(`{ events(first: 1) { nodes { organizer { ...F0 } } } } ${fragments.join(' ')}`, 'COST_ESTIMATED_TOO_EXPENSIVE');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('honours MAX_QUERY_COST', async () => {
    const strict = await startRecordedGateway(stack, { MAX_QUERY_COST: 50 });
    try {
      const response = await gql(strict.url, '{ events(first: 100) { nodes { id } } }');
      expect(response.status).toBe(400);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'COST_ESTIMATED_TOO_EXPENSIVE', maxCost: 50, cost: 201 });
      expect(strict.subgraphCalls()).toBe(0);
      expect((await gql(strict.url, '{ events(first: 10) { nodes { id } } }')).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe('README and docs/ examples', () => {
  /** Every operation in the ```graphql blocks of README.md and docs/, each as a document of its own. */
  function readmeOperations(): { name: string; document: DocumentNode; operation: OperationDefinitionNode }[] {
    const blocks = fencedBlocks(projectDocs(), 'graphql').map(({ text }) => parse(text));
    return blocks.flatMap((block) => {
      const fragments = block.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
      return block.definitions
        .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
        .map((operation) => ({
          name: operation.name?.value ?? print(operation).slice(0, 60),
          operation,
          document: { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] },
        }));
    });
  }

  /** A plausible value for a variable of type `type`, so the operation is checked with its variables set. */
  function sample(type: TypeNode): unknown {
    if (type.kind === Kind.NON_NULL_TYPE) return sample(type.type);
    if (type.kind === Kind.LIST_TYPE) return [sample(type.type)];
    const values: Record<string, unknown> = { ID: randomUUID(), String: 'readme', Int: 1, Boolean: true, DateTime: new Date().toISOString() };
    if (!(type.name.value in values)) throw new Error(`docs variable of type ${type.name.value}: add a sample value for it in this test`);
    return values[type.name.value];
  }

  it('each one passes every limit at its default', async () => {
    const operations = readmeOperations();
    // Setup, Order, Outcome, Dashboard, addEvent, ingestEvent, notifications, retryNotification at least.
    expect(operations.length).toBeGreaterThanOrEqual(8);
    for (const { name, document, operation } of operations) {
      const variables = Object.fromEntries((operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, sample(v.type)]));
      const response = await send(print(document), variables);
      const codes = response.errors?.map((e) => e.extensions?.code) ?? [];
      expect({ name, codes: codes.filter((code) => [...LIMIT_CODES, 'GRAPHQL_VALIDATION_FAILED'].includes(String(code))) }).toEqual({ name, codes: [] });
      // A subscription (docs/api/subscriptions.md) is not executed over a POST: the limits, which run before execution, are what is checked.
      if (operation.operation === OperationTypeNode.SUBSCRIPTION) continue;
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
    }
  });
});
