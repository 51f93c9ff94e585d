// After `tsc -p tsconfig.build.json`: the files the compiled services read beside
// their code (subgraph SDL, migrations, the supergraph) go into dist/ too.
//   tsx scripts/copy-assets.ts [outDir]   (default dist; the build test passes a temporary one)
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Copies the assets into `dist` (absolute, or relative to the project root). */
export function copyAssets(dist = join(root, 'dist')): void {
  for (const name of readdirSync(join(root, 'subgraphs'))) {
    const schema = join('subgraphs', name, 'schema.graphql');
    if (existsSync(join(root, schema))) cpSync(join(root, schema), join(dist, schema));
  }
  cpSync(join(root, 'drizzle'), join(dist, 'drizzle'), { recursive: true });
  for (const file of ['supergraph.graphql', 'supergraph.yaml']) cpSync(join(root, file), join(dist, file));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(root, process.argv[2] ?? 'dist');
  copyAssets(dist);
  console.log(`build: assets copied to ${dist}`);
}
