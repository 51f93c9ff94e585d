import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { Kind, parse, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPOSITION_VERSION,
  CompositionError,
  composeSupergraph,
  moduleSources,
  readSupergraphConfig,
  SUPERGRAPH_CONFIG,
  SUPERGRAPH_FILE,
  supergraphConfigText,
  supergraphStatus,
} from '../scripts/compose.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';

/** Every type (`Type`) and field (`Type.field`) a subgraph marks @inaccessible. */
function inaccessibleElements(sdl: string): string[] {
  const found: string[] = [];
  const hidden = (node: { directives?: readonly { name: { value: string } }[] }) => node.directives?.some((d) => d.name.value === 'inaccessible');
  for (const definition of parse(sdl).definitions) {
    if (!('name' in definition) || !definition.name) continue;
    if (hidden(definition)) found.push(definition.name.value);
    if (!('fields' in definition) || !definition.fields) continue;
    for (const field of definition.fields) if (hidden(field)) found.push(`${definition.name.value}.${field.name.value}`);
  }
  return found;
}

/** True when the schema has the type `Type` or the field `Type.field`. */
function has(schema: GraphQLSchema, coordinate: string): boolean {
  const [type, field] = coordinate.split('.') as [string, string | undefined];
  const named = schema.getType(type);
  if (!named || field === undefined) return !!named;
  return 'getFields' in named && field in named.getFields();
}

describe('supergraph composition', () => {
  let sdl: string;
  beforeAll(() => {
    sdl = composeSupergraph();
  });

  it('composes every subgraph listed in supergraph.yaml, pinned to the installed composition', () => {
    const config = readFileSync(join(import.meta.dirname, '..', 'supergraph.yaml'), 'utf8');
    expect(config).toContain(`federation_version: =${COMPOSITION_VERSION}`);
    const names = Supergraph.build(sdl)
      .subgraphsMetadata()
      .map((s) => s.name);
    expect(names.sort()).toEqual(
      readSupergraphConfig()
        .map((s) => s.name)
        .sort(),
    );
    expect(names).toEqual(expect.arrayContaining(['users', 'events', 'inventory', 'orders']));
  });

  it('the committed supergraph.graphql equals a fresh composition (run `npm run compose` and commit)', () => {
    const committed = readFileSync(SUPERGRAPH_FILE, 'utf8');
    expect(committed === sdl, 'supergraph.graphql is stale: run `npm run compose` and commit it').toBe(true);
    expect(supergraphStatus().current).toBe(true);
  });

  it('the committed supergraph.yaml is the one subgraphs/index.ts describes (run `npm run compose` and commit)', () => {
    expect(readFileSync(SUPERGRAPH_CONFIG, 'utf8') === supergraphConfigText(), 'supergraph.yaml is stale: run `npm run compose` and commit it').toBe(true);
    expect(readSupergraphConfig().map((s) => s.name)).toEqual(SUBGRAPHS.map((s) => s.name));
    expect(readSupergraphConfig()).toEqual(moduleSources());
    expect(supergraphStatus().configCurrent).toBe(true);
  });

  it('keeps every @inaccessible type and field out of the API schema clients see', () => {
    const supergraph = Supergraph.build(sdl);
    const full = supergraph.schema.toGraphQLJSSchema();
    const api = supergraph.apiSchema().toGraphQLJSSchema();
    const hidden = readSupergraphConfig().flatMap((s) => inaccessibleElements(readFileSync(s.file, 'utf8')));
    for (const coordinate of hidden) {
      expect(has(full, coordinate), `${coordinate} in the supergraph`).toBe(true);
      expect(has(api, coordinate), `${coordinate} in the API schema`).toBe(false);
    }
    // The order worker's internal mutations on inventory (docs/architecture.md, "Orders") are among them.
    for (const internal of ['Mutation.reserveStock', 'Mutation.releaseStock']) {
      expect(hidden).toContain(internal);
      expect(has(api, internal)).toBe(false);
    }
  });
});

describe('composition failures', () => {
  let dir: string;
  const user = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { user(id: ID!): User }
type User @key(fields: "id") { id: ID! name: String! }`;
  // Defines User.name again without @shareable: composition must refuse it.
  const clash = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { other: User }
type User @key(fields: "id") { id: ID! name: String! }`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'compose-'));
    writeFileSync(join(dir, 'a.graphql'), user);
    writeFileSync(join(dir, 'b.graphql'), clash);
    writeFileSync(join(dir, 'broken.graphql'), 'type Query {');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function config(subgraphs: Record<string, string>, version = `=${COMPOSITION_VERSION}`): string {
    const path = join(dir, `supergraph-${Math.random().toString(36).slice(2)}.yaml`);
    const entries = Object.entries(subgraphs)
      .map(([name, file]) => `  ${name}:\n    routing_url: http://127.0.0.1:1/graphql\n    schema:\n      file: ./${file}`)
      .join('\n');
    writeFileSync(path, `federation_version: ${version}\nsubgraphs:\n${entries}\n`);
    return path;
  }

  function failure(path: string): CompositionError {
    try {
      composeSupergraph(path);
    } catch (error) {
      expect(error).toBeInstanceOf(CompositionError);
      return error as CompositionError;
    }
    throw new Error('composition was expected to fail');
  }

  it('lists every composition error with its code', () => {
    const error = failure(config({ a: 'a.graphql', b: 'b.graphql' }));
    expect(error.problems.map((p) => p.code)).toContain('INVALID_FIELD_SHARING');
    expect(error.message).toContain('[INVALID_FIELD_SHARING]');
    expect(error.message).toContain('User.name');
  });

  it('a listed schema file that is missing is an error, reported with the unparsable ones', () => {
    const error = failure(config({ a: 'a.graphql', gone: 'nowhere.graphql', broken: 'broken.graphql' }));
    expect(error.problems.map((p) => p.code).sort()).toEqual(['INVALID_GRAPHQL', 'MISSING_SCHEMA_FILE']);
    expect(error.message).toContain('subgraph "gone"');
    expect(error.message).toContain('subgraph "broken"');
  });

  it('refuses a federation_version other than the installed composition', () => {
    const error = failure(config({ a: 'a.graphql' }, '=2.0.0'));
    expect(error.problems[0]!.code).toBe('FEDERATION_VERSION_MISMATCH');
    expect(error.message).toContain(`=${COMPOSITION_VERSION}`);
  });

  it('a supergraph.yaml that lists other subgraphs than subgraphs/index.ts, or none, is stale', () => {
    const missingOne = config({ a: 'a.graphql' });
    expect(supergraphStatus(missingOne)).toMatchObject({ current: false, configCurrent: false });
    const dropped = join(dir, 'dropped.yaml');
    writeFileSync(dropped, supergraphConfigText(moduleSources().slice(1)));
    expect(supergraphStatus(dropped)).toMatchObject({ current: false, configCurrent: false });
    expect(supergraphStatus(join(dir, 'nowhere.yaml'))).toMatchObject({ current: false, configCurrent: false });
    // The same text is current: only the list decides.
    const same = join(dir, 'same.yaml');
    writeFileSync(same, supergraphConfigText());
    expect(supergraphStatus(same)).toMatchObject({ current: true, configCurrent: true });
  });

  it('composes a valid config', () => {
    const sdl = composeSupergraph(config({ a: 'a.graphql' }));
    expect(Supergraph.build(sdl).subgraphsMetadata()).toEqual([expect.objectContaining({ name: 'a', url: 'http://127.0.0.1:1/graphql' })]);
    expect(parse(sdl).definitions.some((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'User')).toBe(true);
  });
});
