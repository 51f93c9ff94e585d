import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { generate, type CodegenConfig } from '@graphql-codegen/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config, { INVENTORY_OPERATIONS } from '../codegen.ts';
import { PROJECT_ROOT } from '../scripts/compose.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';

interface Output {
  filename: string;
  content: string;
}

/** Runs the codegen config without writing anything. */
async function generateAll(of: CodegenConfig = config): Promise<Output[]> {
  return (await generate({ ...of, cwd: PROJECT_ROOT, silent: true }, false)) as Output[];
}

/** The outputs whose committed file is missing or differs from a fresh generation. */
function stale(outputs: Output[]): string[] {
  return outputs
    .filter((output) => !existsSync(output.filename) || readFileSync(output.filename, 'utf8') !== output.content)
    .map((output) => relative(PROJECT_ROOT, output.filename));
}

/** The generated resolver types of the subgraph whose schema is `schemaFile`. */
function generatedFileOf(schemaFile: string): string {
  return join(dirname(schemaFile), 'generated', 'resolvers.ts');
}

describe('resolver types (npm run codegen)', () => {
  let outputs: Output[];
  beforeAll(async () => {
    outputs = await generateAll();
  });

  it("generates resolver types for every subgraph of subgraphs/index.ts, and the order worker's inventory operations", () => {
    const expected = [...SUBGRAPHS.map((s) => relative(PROJECT_ROOT, generatedFileOf(s.schemaFile))), relative(PROJECT_ROOT, INVENTORY_OPERATIONS)];
    expect(outputs.map((o) => relative(PROJECT_ROOT, o.filename)).sort()).toEqual(expected.sort());
    const operations = outputs.find((o) => o.filename === INVENTORY_OPERATIONS)!;
    expect(operations.content).toContain('export type ReserveStocksMutation = ');
    expect(operations.content).toContain('export type ReleaseStockMutation = ');
    for (const output of outputs.filter((o) => o !== operations)) {
      expect(output.content).toContain('export type Resolvers<ContextType = ');
      // federation: true, so entities take __resolveReference.
      expect(output.content).toContain('__resolveReference?: ReferenceResolver<');
    }
  });

  it('the committed generated files equal a fresh generation (run `npm run codegen` and commit)', () => {
    expect(stale(outputs), 'generated resolver types are stale: run `npm run codegen` and commit them').toEqual([]);
  });

  describe('when a schema changes', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'codegen-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the generated file of that subgraph, and only that one, is stale', async () => {
      const orders = SUBGRAPHS.find((s) => s.name === 'orders')!;
      const target = generatedFileOf(orders.schemaFile);
      const changed = join(dir, 'schema.graphql');
      writeFileSync(changed, `${readFileSync(orders.schemaFile, 'utf8')}\nextend type Order { "Added." note: String }\n`);
      const output = config.generates[target];
      expect(output, `codegen.ts generates ${target}`).toBeDefined();
      const edited: CodegenConfig = { ...config, generates: { [target]: { ...(output as object), schema: changed } } };
      const [fresh] = await generateAll(edited);
      expect(fresh!.content).toContain("note?: Maybe<Scalars['String']['output']>;");
      expect(stale([fresh!])).toEqual([relative(PROJECT_ROOT, target)]);
    });
  });
});
