/**
 * Persisted operations (docs/api/persisted-operations.md).
 *
 *   npm run operations -- manifest <file or glob>... [--out <file>] [--check]
 *
 * Writes an Apollo persisted-query manifest (`apollo-persisted-query-manifest`,
 * version 1, what @apollo/generate-persisted-query-manifest writes and
 * OPERATIONS_MANIFEST reads) from .graphql documents: one entry per named
 * operation, its body the operation and every fragment it spreads, its id the
 * SHA-256 of the body. Every operation is validated against the API schema of
 * the supergraph (SUPERGRAPH_PATH, default supergraph.graphql) first. Without
 * --out it prints the manifest; --check exits 1 when --out differs from what
 * would be written. Globs: `*` and `?` within a folder, `**` across folders, `{a,b}`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supergraph } from '@apollo/federation-internals';
import {
  Kind,
  parse,
  print,
  validate,
  visit,
  type DefinitionNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: { id: string; body: string; name: string; type: 'query' | 'mutation' | 'subscription' }[];
}

export class OperationsError extends Error {
  override name = 'OperationsError';
}

/** A glob as a regular expression over '/'-separated paths. */
function globPattern(glob: string): RegExp {
  let pattern = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` is any number of folders (none included); a trailing `**` anything.
      if (glob[i + 2] === '/') {
        pattern += '(?:.*/)?';
        i += 2;
      } else {
        pattern += '.*';
        i += 1;
      }
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else if (c === '{') {
      braces += 1;
      pattern += '(?:';
    } else if (c === '}' && braces > 0) {
      braces -= 1;
      pattern += ')';
    } else if (c === ',' && braces > 0) pattern += '|';
    else pattern += c.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** The files a path or glob names (relative to `cwd`), sorted. */
export function expand(argument: string, cwd = process.cwd()): string[] {
  if (!/[*?{]/.test(argument)) {
    const path = resolve(cwd, argument);
    if (!existsSync(path)) throw new OperationsError(`no file ${argument}`);
    return [path];
  }
  const parts = argument.split('/');
  const fixed = parts.findIndex((part) => /[*?{]/.test(part));
  const base = resolve(cwd, parts.slice(0, fixed).join('/') || '.');
  const pattern = globPattern(parts.slice(fixed).join('/'));
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry === '.git') continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (pattern.test(relative(base, path).split(sep).join('/'))) found.push(path);
    }
  };
  if (existsSync(base)) walk(base);
  if (found.length === 0) throw new OperationsError(`no file matches ${argument}`);
  return found.sort();
}

/** The fragments an operation spreads, directly or through other fragments, in the order first met. */
function spreadFragments(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, where: string): FragmentDefinitionNode[] {
  const used: FragmentDefinitionNode[] = [];
  const seen = new Set<string>();
  const collect = (node: DefinitionNode) => {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (seen.has(name)) return;
        const fragment = fragments.get(name);
        if (!fragment) throw new OperationsError(`${where}: fragment ${name} is not defined in any of the files`);
        seen.add(name);
        used.push(fragment);
        collect(fragment);
      },
    });
  };
  collect(operation);
  return used.sort((a, b) => a.name.value.localeCompare(b.name.value));
}

/** The API schema clients see: the supergraph's, without @inaccessible parts. */
export function apiSchema(supergraphPath: string): GraphQLSchema {
  return Supergraph.build(readFileSync(supergraphPath, 'utf8')).apiSchema().toGraphQLJSSchema();
}

/** The manifest of every named operation in `files`, validated against `schema`, sorted by name. */
export function buildManifest(files: string[], schema: GraphQLSchema): PersistedQueryManifest {
  const operations: { operation: OperationDefinitionNode; file: string }[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const file of files) {
    const where = relative(ROOT, file);
    let definitions: readonly DefinitionNode[];
    try {
      definitions = parse(readFileSync(file, 'utf8')).definitions;
    } catch (error) {
      throw new OperationsError(`${where}: ${(error as Error).message}`);
    }
    for (const definition of definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        if (fragments.has(definition.name.value)) throw new OperationsError(`${where}: fragment ${definition.name.value} is defined twice`);
        fragments.set(definition.name.value, definition);
      } else if (definition.kind === Kind.OPERATION_DEFINITION) {
        if (!definition.name)
          throw new OperationsError(`${where}: an operation has no name; persisted operations are named (the name is how a team finds one in /metrics)`);
        operations.push({ operation: definition, file: where });
      }
    }
  }
  const names = new Set<string>();
  const entries = operations.map(({ operation, file }) => {
    const name = operation.name!.value;
    if (names.has(name)) throw new OperationsError(`${file}: operation ${name} is defined twice`);
    names.add(name);
    const document = { kind: Kind.DOCUMENT, definitions: [operation, ...spreadFragments(operation, fragments, file)] } as const;
    const errors = validate(schema, document);
    if (errors.length > 0) throw new OperationsError(`${file}: ${name} does not fit the API schema: ${errors.map((e) => e.message).join('; ')}`);
    const body = print(document);
    return { id: createHash('sha256').update(body).digest('hex'), body, name, type: operation.operation };
  });
  return { format: 'apollo-persisted-query-manifest', version: 1, operations: entries.sort((a, b) => a.name.localeCompare(b.name)) };
}

export function manifestText(manifest: PersistedQueryManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

function usage(): never {
  console.error('usage: npm run operations -- manifest <file or glob>... [--out <file>] [--check]');
  process.exit(2);
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command !== 'manifest') usage();
  const patterns: string[] = [];
  let out: string | undefined;
  let check = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--out') out = rest[++i] ?? usage();
    else if (rest[i] === '--check') check = true;
    else patterns.push(rest[i]!);
  }
  if (patterns.length === 0 || (check && !out)) usage();
  const supergraph = process.env.SUPERGRAPH_PATH ?? 'supergraph.graphql';
  const files = [...new Set(patterns.flatMap((pattern) => expand(pattern)))];
  const text = manifestText(buildManifest(files, apiSchema(isAbsolute(supergraph) ? supergraph : resolve(ROOT, supergraph))));
  if (!out) {
    process.stdout.write(text);
    return;
  }
  if (check) {
    const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (current !== text) {
      console.error(`${out} is not what \`npm run operations -- manifest ${patterns.join(' ')} --out ${out}\` writes: run it`);
      process.exit(1);
    }
    console.log(`${out} is current (${files.length} files)`);
    return;
  }
  writeFileSync(out, text);
  console.log(`${out}: ${JSON.parse(text).operations.length} operations from ${files.length} files`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof OperationsError)) throw error;
    console.error(`operations: ${error.message}`);
    process.exit(1);
  }
}
