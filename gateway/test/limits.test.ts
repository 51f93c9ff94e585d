import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { costIgnoresVariables, queryLimits } from '../limits.ts';

const schema = buildSchema(`
  type Item { id: ID! children(first: Int = 10): [Item!]! }
  type Query { items(first: Int = 10): [Item!]! item(id: ID!): Item }
`);
const config = { MAX_QUERY_DEPTH: 4, MAX_ALIASES: 5, MAX_QUERY_TOKENS: 1000, MAX_QUERY_COST: 1000 };

describe('query limits, checked once per document where no variable can change the verdict', () => {
  it('tells which documents no variable can make cost more', () => {
    expect(costIgnoresVariables(parse('query { items(first: 5) { id children { id } } }'))).toBe(true);
    expect(costIgnoresVariables(parse('query ($id: ID!) { item(id: $id) { id } }'))).toBe(true);
    expect(costIgnoresVariables(parse('query ($n: Int) { items(first: $n) { id } }'))).toBe(false);
    expect(costIgnoresVariables(parse('query ($all: Boolean!) { items { id children(first: 100) @include(if: $all) { id } } }'))).toBe(false);
  });

  it('answers a repeated document as the first time, and still refuses one whose cost a variable raises', () => {
    const { check } = queryLimits(config);
    const cheap = parse('query Cheap($id: ID!) { item(id: $id) { id } }');
    for (let i = 0; i < 3; i++) expect(check(schema, cheap, { id: String(i) }, 'Cheap')).toBeUndefined();

    const paged = parse('query Paged($n: Int) { items(first: $n) { id children(first: 20) { id } } }');
    expect(check(schema, paged, { n: 2 }, 'Paged')).toBeUndefined();
    expect(check(schema, paged, { n: 500 }, 'Paged')?.extensions.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    expect(check(schema, paged, { n: 2 }, 'Paged')).toBeUndefined();

    const skipped = parse('query Maybe($all: Boolean!) { items(first: 100) { id children(first: 100) @include(if: $all) { id } } }');
    expect(check(schema, skipped, { all: false }, 'Maybe')).toBeUndefined();
    expect(check(schema, skipped, { all: true }, 'Maybe')?.extensions.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
  });

  it('refuses a document over a limit every time it comes', () => {
    const { check } = queryLimits(config);
    const deep = parse('{ items { children { children { children { children { id } } } } } }');
    const expensive = parse('{ items(first: 100) { children(first: 100) { id } } }');
    for (let i = 0; i < 2; i++) {
      expect(check(schema, deep, {}, undefined)?.extensions.code).toBe('MAX_DEPTH_LIMIT');
      expect(check(schema, expensive, {}, undefined)?.extensions.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
    }
  });

  it('keeps no operation name the document does not define', () => {
    const { check } = queryLimits(config);
    const document = parse('query A { items(first: 1) { id } }');
    expect(check(schema, document, {}, 'A')).toBeUndefined();
    expect(check(schema, document, {}, 'NotThere')).toBeUndefined();
    expect(check(schema, document, {}, 'A')).toBeUndefined();
  });
});
