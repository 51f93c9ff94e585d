/**
 * `npm run schema -- <file>`: writes the API schema clients see (supergraph.graphql
 * without federation's join types and without anything @inaccessible), the
 * input client code generators want. Without a file it prints to stdout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supergraph } from '@apollo/federation-internals';
import { printSchema } from 'graphql';

const SUPERGRAPH_FILE = fileURLToPath(new URL('../supergraph.graphql', import.meta.url));

/** The client-facing schema of a supergraph SDL, printed with its descriptions. */
export function apiSchemaOf(supergraphSdl: string): string {
  return printSchema(Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema());
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const schema = apiSchemaOf(readFileSync(SUPERGRAPH_FILE, 'utf8'));
  const out = process.argv[2];
  if (out) {
    writeFileSync(out, `${schema}\n`);
    console.error(`wrote the API schema to ${out}`);
  } else {
    process.stdout.write(`${schema}\n`);
  }
}
