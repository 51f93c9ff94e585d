import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from '../support/graphql.ts';
import { startRecordedGateway, type RecordedGateway } from '../support/recorded-gateway.ts';
import { startStack, type Stack } from '../support/stack.ts';

let stack: Stack;
/** A gateway in NODE_ENV=production over the stack's subgraphs (which run in test mode, unmasked). */
let production: RecordedGateway;
/** The same gateway outside production, to show what production hides. */
let development: RecordedGateway;

beforeAll(async () => {
  stack = await startStack('production');
  production = await startRecordedGateway(stack, { NODE_ENV: 'production', production: true });
  development = await startRecordedGateway(stack, { NODE_ENV: 'development', production: false });
});

afterAll(async () => {
  await production?.close();
  await development?.close();
  await stack?.close();
});

describe('no field suggestions in production', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ['a misspelt field', '{ events(first: 1) { nodes { nam } } }', {}],
    ['a misspelt enum value', '{ orders(status: CONFIRMD) { totalCount } }', {}],
    ['a misspelt enum value in a variable', 'query($s: OrderStatus) { orders(status: $s) { totalCount } }', { s: 'CONFIRMD' }],
    [
      'a misspelt input field in a variable',
      'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }',
      { i: { nam: 'Ada', email: 'ada@example.com' } },
    ],
    ['a misspelt argument', '{ events(frist: 1) { totalCount } }', {}],
    ['a misspelt type in a fragment', '{ events(first: 1) { nodes { ...F } } } fragment F on Evnt { id }', {}],
  ];

  for (const [what, query, variables] of cases) {
    it(`${what}: the error says what is wrong, never "Did you mean"`, async () => {
      const shown = await gql(development.url, query, variables);
      expect(shown.errors?.map((e) => e.message).join(' ')).toContain('Did you mean');

      const hidden = await gql(production.url, query, variables);
      expect(hidden.status).toBe(400);
      expect(hidden.errors?.length).toBeGreaterThan(0);
      expect(hidden.errors!.map((e) => e.extensions?.code)).toEqual(
        hidden.errors!.map(() => expect.stringMatching(/^(GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/)),
      );
      expect(JSON.stringify(hidden)).not.toMatch(/did you mean/i);
      // Still a useful message: it names what the client sent.
      expect(hidden.errors!.map((e) => e.message).join(' ')).toMatch(/nam|CONFIRMD|frist|Evnt/);
    });
  }
});

describe('no introspection in production', () => {
  it('__schema and __type are refused, also aliased or inside a fragment, and reach no subgraph', async () => {
    const before = production.subgraphCalls();
    for (const query of [
      '{ __schema { types { name } } }',
      '{ __type(name: "User") { fields { name } } }',
      '{ s: __schema { queryType { name } } }',
      '{ ...F } fragment F on Query { __schema { queryType { name } } }',
      '{ events(first: 1) { totalCount } ... on Query { __type(name: "Order") { name } } }',
    ]) {
      const response = await gql(production.url, query);
      expect({ query, status: response.status, data: response.data }).toEqual({ query, status: 400, data: undefined });
      expect(response.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(response)).not.toContain('queryType');
    }
    expect(production.subgraphCalls()).toBe(before);
    // Outside production Sandbox needs it.
    expect((await gql(development.url, '{ __schema { queryType { name } } }')).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    // __typename is not introspection.
    expect((await gql(production.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});

describe('internal errors masked in production', () => {
  it('a subgraph failing on a broken database answers "Internal server error" with only the code', async () => {
    // A real fault: the events table disappears under the events subgraph.
    await stack.db.sql.unsafe('alter table events.events rename to events_gone');
    try {
      const query = '{ events(first: 1) { totalCount nodes { id } } }';
      const shown = await gql(development.url, query);
      expect(shown.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(shown.errors?.[0]?.message).toContain('events');

      const masked = await gql(production.url, query);
      expect(masked.status).toBeLessThan(500);
      expect(masked.errors).toEqual([{ message: 'Internal server error', path: ['events'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(JSON.stringify(masked)).not.toMatch(/events_gone|relation|does not exist|stacktrace|serviceName/);
    } finally {
      await stack.db.sql.unsafe('alter table events.events_gone rename to events');
    }
    expect((await gql(production.url, '{ events(first: 1) { totalCount } }')).errors).toBeUndefined();
  });
});
