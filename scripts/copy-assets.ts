// After `tsc -p tsconfig.build.json`: the files the compiled services read beside
// their code (subgraph SDL, migrations, the supergraph) go into dist/ too.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
for (const name of readdirSync(join(root, 'subgraphs'))) {
  const schema = join('subgraphs', name, 'schema.graphql');
  if (existsSync(join(root, schema))) cpSync(join(root, schema), join(dist, schema));
}
cpSync(join(root, 'drizzle'), join(dist, 'drizzle'), { recursive: true });
for (const file of ['supergraph.graphql', 'supergraph.yaml']) cpSync(join(root, file), join(dist, file));
console.log(`build: assets copied to ${dist}`);
