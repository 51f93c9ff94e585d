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
  return files
    .map((file) => ({ path: relative(root, file).split(sep).join('/'), text: readFileSync(file, 'utf8') }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The text of every fenced block of `language` in `docs`, with the doc it is in. */
export function fencedBlocks(docs: readonly Doc[], language: string): { path: string; text: string }[] {
  const pattern = new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g');
  return docs.flatMap((doc) => [...doc.text.matchAll(pattern)].map(([, text]) => ({ path: doc.path, text: text! })));
}

/** What the checks need to know of the repository: files, and package.json's scripts. */
export interface Repository {
  /** Whether a root-relative path ('/'-separated, no trailing slash) is a file or folder of the repository. */
  exists(path: string): boolean;
  /** The text of a root-relative file, or undefined. */
  read(path: string): string | undefined;
  /** The names at the top of the repository (folders and files), which mark a backticked text as a path. */
  topLevel: ReadonlySet<string>;
  /** package.json's scripts. */
  scripts: ReadonlySet<string>;
}

/** Folders that are built or installed, never part of the repository. */
const NOT_IN_REPOSITORY = new Set(['node_modules', 'dist', '.git']);

/** The repository on disk at `root`. */
export function repositoryAt(root = ROOT): Repository {
  const inside = (path: string) => join(root, ...path.split('/'));
  return {
    exists: (path) => !NOT_IN_REPOSITORY.has(path.split('/')[0]!) && existsSync(inside(path)),
    read: (path) => (existsSync(inside(path)) && statSync(inside(path)).isFile() ? readFileSync(inside(path), 'utf8') : undefined),
    topLevel: new Set(readdirSync(root).filter((name) => !NOT_IN_REPOSITORY.has(name))),
    scripts: new Set(Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {})),
  };
}

/** The text without fenced code blocks (``` or ~~~), line count kept so line numbers still match. */
function withoutFences(text: string): string {
  return text.replace(/^ *(```|~~~)[^\n]*\n[\s\S]*?^ *\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ''));
}

/** The inline code spans of a text that has no fences. */
function codeSpans(text: string): { code: string; index: number }[] {
  return [...text.matchAll(/(`+)([^`][\s\S]*?)\1(?!`)/g)].map((match) => ({ code: match[2]!.trim(), index: match.index! }));
}

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-', '-1', '-2' … for repeats. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = heading!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*]/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Resolves `target` against the folder of `from` (both root-relative); undefined when it leaves the repository. */
function resolveFrom(from: string, target: string): string | undefined {
  const parts = from.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

/** Whether a backticked text names a file or folder of the repository (and so must exist). */
function namesRepositoryPath(code: string, repository: Repository): boolean {
  // Commands, placeholders, globs, URLs, absolute paths and flags are not repository paths.
  if (/[\s<>*{}$…|'"()=,]/.test(code) || code.includes('://') || /^[/~:@-]/.test(code) || !code.includes('/')) return false;
  const first = code.split('/')[0]!;
  if (repository.topLevel.has(first)) return true;
  // A source file named with its folders, whose top folder is not in the repository: a typo, or gone.
  return !NOT_IN_REPOSITORY.has(first) && /\.(ts|mjs|md|json|ya?ml|graphql|sql|sh)$/.test(code);
}

/**
 * Every broken reference in `docs`: a relative link or image to a file that
 * does not exist (or leaves the repository), an anchor its target file does
 * not have, an `npm run X` / `npm start` / `npm test` whose script package.json
 * lacks, a backticked repository path that does not exist.
 */
export function brokenReferences(docs: readonly Doc[], repository: Repository): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchorsIn = (path: string) => {
    if (!anchorCache.has(path)) {
      const text = docs.find((doc) => doc.path === path)?.text ?? repository.read(path);
      anchorCache.set(path, text === undefined ? undefined : anchorsOf(text));
    }
    return anchorCache.get(path);
  };

  for (const doc of docs) {
    const prose = withoutFences(doc.text);
    // Link syntax inside code spans is code, not a link.
    const linkable = prose.replace(/(`+)([^`][\s\S]*?)\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' '));
    const targets = [
      ...[...linkable.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({ target: m[1]!, index: m.index! })),
      ...[...linkable.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => ({ target: m[1]!, index: m.index! })),
    ];
    for (const { target, index } of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const where = `${doc.path}:${lineAt(prose, index)}`;
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const path = pathPart === '' ? doc.path : resolveFrom(doc.path, decodeURI(pathPart));
      if (path === undefined || path === '' || (path !== doc.path && !repository.exists(path.replace(/\/$/, '')))) {
        problems.push(`${where}: link to ${target}: no such file in the repository`);
        continue;
      }
      if (anchor && path.endsWith('.md') && !anchorsIn(path)?.has(anchor)) problems.push(`${where}: link to ${target}: ${path} has no heading #${anchor}`);
    }

    for (const match of doc.text.matchAll(/\bnpm\s+(?:run(?:-script)?\s+(?:--?[\w-]+\s+)*([\w:.-]+)|(start|test)\b)/g)) {
      const script = match[1] ?? match[2]!;
      if (!repository.scripts.has(script))
        problems.push(`${doc.path}:${lineAt(doc.text, match.index!)}: \`${match[0]}\`: package.json has no script "${script}"`);
    }

    for (const { code, index } of codeSpans(prose)) {
      if (!namesRepositoryPath(code, repository)) continue;
      if (!repository.exists(code.replace(/\/$/, '')))
        problems.push(`${doc.path}:${lineAt(prose, index)}: \`${code}\`: no such file or folder in the repository`);
    }
  }
  return problems;
}
