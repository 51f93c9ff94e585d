/**
 * Writes what the catalog of processes (scripts/catalog.ts) makes:
 * docker-compose.yml, deploy/kubernetes/base/*.yaml and the development
 * overlay's external.yaml. `npm start` reads the catalog itself.
 *
 *   npm run catalog             writes every generated file
 *   npm run catalog -- --check  exits 1 when a committed file differs from what the catalog makes (CI)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { composeFileText } from './compose-file.ts';
import { PROJECT_ROOT } from './compose.ts';
import { kubernetesFiles } from './kubernetes/manifests.ts';

export const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml');

/** Every file the catalog makes, by absolute path. */
export function generatedFiles(): Record<string, string> {
  return { [COMPOSE_FILE]: composeFileText(), ...kubernetesFiles() };
}

/** Generated files whose committed text differs from what the catalog makes (missing ones included), relative to the project root. */
export function staleFiles(): string[] {
  return Object.entries(generatedFiles())
    .filter(([path, text]) => !existsSync(path) || readFileSync(path, 'utf8') !== text)
    .map(([path]) => relative(PROJECT_ROOT, path));
}

function main(args: string[]): number {
  if (args.includes('--check')) {
    const stale = staleFiles();
    if (stale.length > 0) {
      console.error(`stale, not what scripts/catalog.ts makes (run npm run catalog and commit the result): ${stale.join(', ')}`);
      return 1;
    }
    console.log(`${Object.keys(generatedFiles()).length} files are up to date with scripts/catalog.ts`);
    return 0;
  }
  const files = generatedFiles();
  for (const [path, text] of Object.entries(files)) writeFileSync(path, text);
  console.log(
    `wrote ${Object.keys(files)
      .map((p) => relative(PROJECT_ROOT, p))
      .join(', ')}`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
