import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../scripts/settings.ts';
import { ManifestError, parseManifest } from '../../gateway/door/manifest.ts';
import { apiSchema, buildManifest, expand, manifestText, OperationsError } from '../../scripts/operations.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COMMITTED = join(ROOT, 'docs/api/operations/manifest.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const schema = apiSchema(join(ROOT, 'supergraph.graphql'));

const dir = mkdtempSync(join(tmpdir(), 'junction-operations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/api/operations/manifest.json', () => {
  it('is what `npm run operations -- manifest docs/api/operations/*.graphql` writes today', () => {
    const files = expand('docs/api/operations/*.graphql', ROOT);
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(readFileSync(COMMITTED, 'utf8')).toBe(manifestText(buildManifest(files, schema)));
  });

  it('holds the examples of docs/api/examples.md, each by the SHA-256 of its body, readable by the gateway', () => {
    const manifest = parseManifest(readFileSync(COMMITTED, 'utf8'));
    expect(manifest.format).toBe('apollo');
    const names = [...manifest.byId.values()].map((operation) => operation.name);
    for (const name of [
      'SignUp',
      'Stock',
      'Order',
      'Outcome',
      'Cancel',
      'Dashboard',
      'AddEvent',
      'IngestEvent',
      'FailedNotifications',
      'RetryNotification',
      'Catalog',
    ]) {
      expect(names).toContain(name);
    }
    for (const operation of manifest.byId.values()) expect(operation.id).toBe(sha256(operation.body));
  });
});

describe('npm run operations -- manifest', () => {
  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  it('gives each named operation the fragments it spreads (also from another file, also through another fragment), and its type', () => {
    const files = [
      write(
        'a.graphql',
        'query Products { products(first: 2) { nodes { ...Line } } }\nmutation Restock($id: ID!) { restockProduct(id: $id, quantity: 1) { ...Line } }',
      ),
      write('b.graphql', 'fragment Line on Product { id ...Price }\nfragment Price on Product { priceCents }\nfragment Unused on Product { stock }'),
    ];
    const manifest = buildManifest(files, schema);
    expect(manifest.operations.map(({ name, type }) => ({ name, type }))).toEqual([
      { name: 'Products', type: 'query' },
      { name: 'Restock', type: 'mutation' },
    ]);
    const products = manifest.operations[0]!;
    expect(products.body).toContain('fragment Line on Product');
    expect(products.body).toContain('fragment Price on Product');
    expect(products.body).not.toContain('Unused');
    expect(products.id).toBe(sha256(products.body));
    // The gateway reads what the command writes.
    expect(parseManifest(manifestText(manifest)).byBody.get(products.body)?.id).toBe(products.id);
  });

  it('refuses an anonymous operation, one the API schema does not have, a missing fragment and a name used twice', () => {
    expect(() => buildManifest([write('anonymous.graphql', '{ products { totalCount } }')], schema)).toThrow(/has no name/);
    expect(() => buildManifest([write('unknown.graphql', 'query Q { nope }')], schema)).toThrow(/does not fit the API schema/);
    expect(() => buildManifest([write('internal.graphql', 'mutation R { releaseStock(orderId: "1") { applied } }')], schema)).toThrow(OperationsError);
    expect(() => buildManifest([write('missing.graphql', 'query Q { products { nodes { ...Nope } } }')], schema)).toThrow(/fragment Nope is not defined/);
    expect(() =>
      buildManifest([write('twice.graphql', 'query Q { products { totalCount } }'), write('twice2.graphql', 'query Q { events { totalCount } }')], schema),
    ).toThrow(/defined twice/);
  });

  it('expands *, ** and {a,b} globs, and names a pattern that matches nothing', () => {
    expect(expand('docs/api/operations/{Catalog,Upcoming}.graphql', ROOT).map((f) => f.slice(ROOT.length))).toEqual([
      'docs/api/operations/Catalog.graphql',
      'docs/api/operations/Upcoming.graphql',
    ]);
    expect(expand('docs/**/Dash*.graphql', ROOT).map((f) => f.slice(ROOT.length))).toEqual(['docs/api/operations/Dashboard.graphql']);
    expect(() => expand('docs/**/*.nothing', ROOT)).toThrow(/no file matches/);
  });
});

describe('a manifest the gateway reads', () => {
  const body = 'query Catalog { products { totalCount } }';

  it("reads Apollo's manifest and GraphQL Code Generator's persisted-documents.json alike", () => {
    const apollo = parseManifest(
      JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'custom-id', body, name: 'Catalog', type: 'query' }] }),
    );
    expect(apollo.format).toBe('apollo');
    expect(apollo.byId.get('custom-id')).toEqual({ id: 'custom-id', body, name: 'Catalog', type: 'query' });
    const codegen = parseManifest(
      JSON.stringify({ [sha256(body)]: body, [sha256('mutation M { deleteUser(id: "1") }')]: 'mutation M { deleteUser(id: "1") }' }),
    );
    expect(codegen.format).toBe('codegen');
    expect(codegen.byBody.get(body)).toEqual({ id: sha256(body), body, name: 'Catalog', type: 'query' });
    expect([...codegen.byId.values()].map((operation) => operation.type)).toEqual(['query', 'mutation']);
  });

  it('refuses what is not a manifest, saying why', () => {
    const bad: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[]', /expected Apollo's persisted query manifest/],
      [JSON.stringify({ format: 'something-else', operations: [] }), /format "something-else" is not known/],
      [JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 2, operations: [] }), /version 2/],
      [JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'a' }] }), /operations\[0\]: "body"/],
      [
        JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'a', body: '{' }] }),
        /operations\[0\]: the body is not GraphQL/,
      ],
      [
        JSON.stringify({
          format: 'apollo-persisted-query-manifest',
          version: 1,
          operations: [
            { id: 'a', body },
            { id: 'a', body: '{ events { totalCount } }' },
          ],
        }),
        /id a is given to two different bodies/,
      ],
      [JSON.stringify({ abc: 42 }), /expected Apollo's persisted query manifest/],
      [JSON.stringify({ abc: 'fragment F on Query { __typename }' }), /"abc": the body has no operation/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseManifest(text)).toThrow(ManifestError);
      expect(() => parseManifest(text)).toThrow(message);
    }
  });

  it('OPERATIONS_SAFELIST other than off needs OPERATIONS_MANIFEST', () => {
    for (const mode of ['log', 'enforce', 'require-id']) {
      expect(() => parseConfig({ OPERATIONS_SAFELIST: mode })).toThrow(ConfigError);
      expect(() => parseConfig({ OPERATIONS_SAFELIST: mode })).toThrow(
        /^invalid configuration: OPERATIONS_SAFELIST="\S+": \S+ needs the list of operations: set OPERATIONS_MANIFEST/,
      );
    }
    expect(() => parseConfig({ OPERATIONS_SAFELIST: 'strict' })).toThrow(/^invalid configuration: OPERATIONS_SAFELIST=/);
    expect(parseConfig({ OPERATIONS_SAFELIST: 'enforce', OPERATIONS_MANIFEST: 'ops.json' }).OPERATIONS_SAFELIST).toBe('enforce');
  });
});
