/**
 * `npm run check:boundaries`: the import rules that keep every part of Junction
 * in one obvious place (docs/development/layout.md, "Boundaries"). Exits 1 listing each broken rule;
 * test/boundaries.test.ts runs the same check in `npm test`, and feeds it
 * trees that break every rule.
 *
 *   common/           knows no domain: imports nothing outside common/ and names
 *                     no queue or subgraph
 *   subgraphs/<name>/ imports no other subgraph (only common/ and subgraphs/shared/)
 *   subgraphs/shared/ the contract between subgraphs: imports only common/
 *   workers/          use a subgraph only through its module.ts (or subgraphs/index.ts, subgraphs/shared/)
 *   gateway/          knows subgraphs by URL only: imports common/ and the
 *                     data-only catalog of processes (scripts/catalog.ts), no subgraph
 *   external/         the simulated partners: only common/
 *   subgraphs/index.ts and the module.ts files stay cheap: nothing they import
 *                     at start reaches server, database or queue code (that is
 *                     loaded with import() when used)
 *   scripts/catalog.ts data only: imports nothing
 *   no import cycles  counting every import: static, type-only and import(), with
 *                     no exception for any file (the generated resolver types import
 *                     the context and row types they name, so those import none of them)
 *
 * Test files (test/ folders, *.test.ts) are not checked: tests may reach inside;
 * nor are subgraphs/<name>/codegen.ts (tool configuration, read by ./codegen.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export interface Import {
  /** The file imported (project-relative, '/'-separated), or the package name for a bare specifier. */
  target: string;
  /** True for a package or node: builtin. */
  external: boolean;
  /** `import type`, `export type`, or only type specifiers: erased at run time. */
  typeOnly: boolean;
  /** `import('...')`: loaded when called, not at start. */
  dynamic: boolean;
}

export interface Violation {
  rule: string;
  file: string;
  message: string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHECKED = ['common', 'gateway', 'subgraphs', 'workers', 'external', 'scripts', 'bench'];

const isTestFile = (path: string) => /(^|\/)test\//.test(path) || path.endsWith('.test.ts') || /^subgraphs\/[^/]+\/codegen\.ts$/.test(path);

/** Every checked source file under `root`, project-relative with '/' separators. */
export function sourceFiles(root = ROOT): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === 'node_modules' || entry === 'dist') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.set(relative(root, path).split(sep).join('/'), readFileSync(path, 'utf8'));
    }
  };
  for (const top of CHECKED) if (existsSync(join(root, top))) walk(join(root, top));
  return files;
}

function packageName(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The imports of one file, with relative ones resolved against `files` ('.js' finds the '.ts'). */
export function importsOf(file: string, text: string, files: ReadonlyMap<string, string>): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean, dynamic: boolean) => {
    if (!specifier.startsWith('.')) {
      found.push({ target: packageName(specifier), external: true, typeOnly, dynamic });
      return;
    }
    const path = resolve('/', dirname(file), specifier).slice(1);
    const target = files.has(path) ? path : path.endsWith('.js') && files.has(`${path.slice(0, -3)}.ts`) ? `${path.slice(0, -3)}.ts` : path;
    found.push({ target, external: false, typeOnly, dynamic });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = Boolean(clause && (clause.isTypeOnly || (!clause.name && named && named.length > 0 && named.every((e) => e.isTypeOnly))));
      add(node.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier.text, node.isTypeOnly || Boolean(named && named.length > 0 && named.every((e) => e.isTypeOnly)), false);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false, true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** String literals of a file (for "common/ names no queue or subgraph"). */
function stringLiterals(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** 'common', 'gateway', 'workers', …, 'subgraphs/index', 'subgraphs/shared' or 'subgraph:<name>'. */
function areaOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] !== 'subgraphs') return parts[0]!;
  if (parts.length === 2) return `subgraphs/${parts[1]!.replace(/\.ts$/, '')}`;
  return parts[1] === 'shared' ? 'subgraphs/shared' : `subgraph:${parts[1]}`;
}

/** The catalog of processes: data only, so the gateway and the launcher read it without loading any process's code. */
const CATALOG = 'scripts/catalog.ts';

const isModuleFace = (path: string) => /^subgraphs\/[^/]+\/module\.ts$/.test(path);

/** Packages whose import at start would make the subgraph list costly. */
const HEAVY = /^(bullmq|ioredis|drizzle-orm|postgres|express|graphql|@apollo\/.*|@as-integrations\/.*|got|undici|opossum|pino|prom-client|dataloader)$/;

function allowed(from: string, edge: Import): string | undefined {
  if (edge.external) return undefined;
  const source = areaOf(from);
  const target = areaOf(edge.target);
  if (source === target) return undefined;
  switch (source) {
    case 'common':
      return `common/ knows no domain: ${from} imports ${edge.target}`;
    case 'subgraphs/shared':
      return target === 'common' ? undefined : `subgraphs/shared/ imports only common/: ${from} imports ${edge.target}`;
    case 'subgraphs/index':
      return isModuleFace(edge.target) || target === 'common' ? undefined : `subgraphs/index.ts lists module.ts files only: it imports ${edge.target}`;
    case 'workers':
      if (target === 'subgraphs/index' || target === 'subgraphs/shared' || target === 'common' || isModuleFace(edge.target)) return undefined;
      if (target.startsWith('subgraph:')) return `workers use a subgraph only through its module.ts: ${from} imports ${edge.target}`;
      return `workers/ do not import ${target}: ${from} imports ${edge.target}`;
    case 'gateway':
      return target === 'common' || edge.target === CATALOG
        ? undefined
        : `the gateway knows subgraphs by URL only, through the catalog of processes (scripts/catalog.ts): ${from} imports ${edge.target}`;
    case 'external':
      return target === 'common' ? undefined : `external/ (the simulated partners) imports only common/: ${from} imports ${edge.target}`;
    default:
      if (source.startsWith('subgraph:')) {
        if (target === 'common' || target === 'subgraphs/shared') return undefined;
        if (target.startsWith('subgraph:')) return `no subgraph imports another: ${from} imports ${edge.target}`;
        return `a subgraph imports only common/ and subgraphs/shared/: ${from} imports ${edge.target}`;
      }
      if (from === CATALOG) return `scripts/catalog.ts is data only: it imports ${edge.target}`;
      // scripts/, bench/ and root files may use anything.
      return undefined;
  }
}

/** Strongly connected components of more than one file (or a file importing itself): the import cycles. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) connect(node);
  return found;
}

export interface CheckOptions {
  /** Queue and subgraph names common/ must not spell out. */
  domainNames: readonly string[];
}

/** Every broken rule in `files` (project-relative path → text). */
export function checkBoundaries(files: ReadonlyMap<string, string>, options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const edges = new Map<string, Import[]>();
  for (const [file, text] of files) {
    if (isTestFile(file)) continue;
    edges.set(file, importsOf(file, text, files));
  }

  for (const [file, imports] of edges) {
    for (const edge of imports) {
      const problem = allowed(file, edge);
      if (problem) violations.push({ rule: 'boundaries', file, message: problem });
    }
    if (areaOf(file) === 'common') {
      for (const literal of stringLiterals(file, files.get(file)!)) {
        if (options.domainNames.includes(literal))
          violations.push({ rule: 'no-domain-in-common', file, message: `common/ knows no domain: ${file} names '${literal}'` });
      }
    }
  }

  // What subgraphs/index.ts pulls in at start: only module faces, their job declarations and cheap packages.
  const seen = new Set<string>();
  const pending = ['subgraphs/index.ts'].filter((file) => edges.has(file));
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const edge of edges.get(file) ?? []) {
      if (edge.dynamic || edge.typeOnly) continue;
      if (edge.external && HEAVY.test(edge.target)) {
        violations.push({
          rule: 'cheap-module-list',
          file,
          message: `subgraphs/index.ts must stay cheap to import: ${file} imports ${edge.target} at start (load it with import() when used)`,
        });
      } else if (!edge.external && /\/(server|db|repository|resolvers\/[^/]+|context|loaders)\.ts$/.test(edge.target)) {
        violations.push({
          rule: 'cheap-module-list',
          file,
          message: `subgraphs/index.ts must stay cheap to import: ${file} imports ${edge.target} at start (load it with import() when used)`,
        });
      } else if (!edge.external) {
        pending.push(edge.target);
      }
    }
  }

  const graph = new Map<string, string[]>();
  // Every import counts: a type-only import or an import() ties two files together as much as a static one.
  const counted = (edge: Import) => !edge.external && edges.has(edge.target);
  for (const [file, imports] of edges)
    graph.set(
      file,
      imports.filter(counted).map((edge) => edge.target),
    );
  for (const cycle of cycles(graph)) violations.push({ rule: 'no-cycles', file: cycle[0]!, message: `import cycle: ${cycle.join(' <-> ')}` });
  return violations;
}

async function main(): Promise<number> {
  const { QUEUE_NAMES, SUBGRAPHS } = await import('../subgraphs/index.ts');
  const violations = checkBoundaries(sourceFiles(), { domainNames: [...QUEUE_NAMES, ...SUBGRAPHS.map((s) => s.name)] });
  for (const violation of violations) console.error(`${violation.rule}: ${violation.message}`);
  if (violations.length > 0) {
    console.error(`${violations.length} boundary rule(s) broken (see scripts/check-boundaries.ts)`);
    return 1;
  }
  console.log('import boundaries hold: no cycles, no subgraph imports another, workers use module.ts, common/ knows no domain');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main();
}
