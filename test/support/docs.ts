import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A markdown file of the project's documentation: its path (root-relative, '/'-separated) and text. */
export interface Doc {
  path: string;
  text: string;
}

function walk(dir: string, keep: (path: string) => boolean, found: string[] = []): string[] {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, keep, found);
    else if (keep(path)) found.push(path);
  }
  return found;
}

/** README.md, every docs/**\/*.md and every examples/**\/README.md, sorted. */
export function projectDocs(root = ROOT): Doc[] {
  const files = [
    join(root, 'README.md'),
    ...walk(join(root, 'docs'), (path) => path.endsWith('.md')),
    ...walk(join(root, 'examples'), (path) => path.endsWith(`${sep}README.md`)),
  ].filter((path) => existsSync(path));
  return files.map((file) => ({ path: relative(root, file).split(sep).join('/'), text: readFileSync(file, 'utf8') })).sort((a, b) => a.path.localeCompare(b.path));
}

/** The text of every fenced block of `language` in `docs`, with the doc it is in. */
export function fencedBlocks(docs: readonly Doc[], language: string): { path: string; text: string }[] {
  const pattern = new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g');
  return docs.flatMap((doc) => [...doc.text.matchAll(pattern)].map(([, text]) => ({ path: doc.path, text: text! })));
}
