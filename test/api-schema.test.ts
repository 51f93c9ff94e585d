import { readFileSync } from 'node:fs';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { apiSchemaOf } from '../scripts/api-schema.ts';

const schema = buildSchema(apiSchemaOf(readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8')));

describe('npm run schema (the API schema for client codegen)', () => {
  it('has the operations clients call, with their descriptions', () => {
    const mutation = schema.getMutationType()!.getFields();
    expect(Object.keys(mutation)).toEqual(expect.arrayContaining(['createUser', 'placeOrder', 'cancelOrder']));
    expect(mutation.placeOrder!.description).toMatch(/PENDING/);
    expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['me', 'order', 'products']));
  });

  it('leaves out federation internals and @inaccessible elements', () => {
    expect(Object.keys(schema.getMutationType()!.getFields())).not.toContain('reserveStock');
    expect(Object.keys(schema.getTypeMap()).filter((name) => name.startsWith('join__') || name.startsWith('link__'))).toEqual([]);
    expect(Object.keys((schema.getType('Order') as GraphQLObjectType).getFields())).not.toContain('userId');
  });
});
