/**
 * Writes supergraph.yaml (rover's config format, for rover and other tools)
 * from the subgraph list in subgraphs/index.ts, and composes supergraph.graphql
 * from the subgraph schemas it lists, with the same @apollo/composition the
 * gateway runs.
 *
 *   npm run compose            writes both files, or prints every error and exits 1
 *   npm run compose -- --check exits 1 when either committed file is stale
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse, type DocumentNode } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SUBGRAPHS } from '../subgraphs/index.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SUPERGRAPH_CONFIG = resolve(PROJECT_ROOT, 'supergraph.yaml');
export const SUPERGRAPH_FILE = resolve(PROJECT_ROOT, 'supergraph.graphql');

/** The @apollo/composition release installed, which federation_version must name. */
export const COMPOSITION_VERSION: string = createRequire(import.meta.url)('@apollo/composition/package.json').version;

const configSchema = z.object({
  federation_version: z.union([z.string(), z.number()]).transform(String),
  subgraphs: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a subgraph name is a GraphQL name'),
    z.object({
      routing_url: z.url(),
      schema: z.object({ file: z.string().min(1) }),
    }),
  ),
});

export interface SubgraphSource {
  name: string;
  routingUrl: string;
  /** Absolute path of the subgraph's SDL. */
  file: string;
}

export interface CompositionProblem {
  code: string;
  message: string;
}

/** Composition failed; `problems` holds every error with its code. */
export class CompositionError extends Error {
  override name = 'CompositionError';
  constructor(readonly problems: CompositionProblem[]) {
    super(`supergraph composition failed with ${problems.length} error(s):\n${problems.map((p) => `  [${p.code}] ${p.message}`).join('\n')}`);
  }
}

/** The subgraphs of subgraphs/index.ts, each routed at its default port on this machine. */
export function moduleSources(): SubgraphSource[] {
  return SUBGRAPHS.map((s) => ({ name: s.name, routingUrl: `http://127.0.0.1:${s.defaultPort}/graphql`, file: s.schemaFile }));
}

/** supergraph.yaml as subgraphs/index.ts describes it (`npm run compose` writes it; never edit it by hand). */
export function supergraphConfigText(sources: readonly SubgraphSource[] = moduleSources()): string {
  const entries = sources.map(
    (s) => `  ${s.name}:\n    routing_url: ${s.routingUrl}\n    schema:\n      file: ./${relative(PROJECT_ROOT, s.file).split('\\').join('/')}\n`,
  );
  return [
    '# Written by `npm run compose` from subgraphs/index.ts: edit the subgraph modules, not this file',
    "# (`npm run compose -- --check` and a test fail when it is stale). Rover's format, so",
    '# `rover supergraph compose --config supergraph.yaml` composes the same supergraph.graphql.',
    '# routing_url is baked into supergraph.graphql for tools that read it; the',
    '# gateway itself routes by USERS_URL, EVENTS_URL, ... (see docs/operations/configuration.md).',
    `federation_version: =${COMPOSITION_VERSION}`,
    'subgraphs:',
    ...entries,
  ]
    .join('\n')
    .replace(/\n\n/g, '\n');
}

/** Reads and checks supergraph.yaml; schema files are resolved against its folder, as rover does. */
export function readSupergraphConfig(configPath = SUPERGRAPH_CONFIG): SubgraphSource[] {
  const where = relative(process.cwd(), configPath) || configPath;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new CompositionError([{ code: 'INVALID_CONFIG', message: `cannot read ${where}: ${(error as Error).message}` }]);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new CompositionError(
      result.error.issues.map((issue) => ({ code: 'INVALID_CONFIG', message: `${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}` })),
    );
  }
  const version = result.data.federation_version;
  const pinned = version.startsWith('=') ? version.slice(1) : null;
  if (pinned ? pinned !== COMPOSITION_VERSION : version !== COMPOSITION_VERSION.split('.')[0]) {
    throw new CompositionError([
      {
        code: 'FEDERATION_VERSION_MISMATCH',
        message: `${where} asks for federation_version ${version} but @apollo/composition ${COMPOSITION_VERSION} is installed; set federation_version: =${COMPOSITION_VERSION}`,
      },
    ]);
  }
  const base = dirname(configPath);
  return Object.entries(result.data.subgraphs).map(([name, subgraph]) => ({
    name,
    routingUrl: subgraph.routing_url,
    file: resolve(base, subgraph.schema.file),
  }));
}

/**
 * The supergraph SDL composed from every subgraph in supergraph.yaml. Throws a
 * CompositionError listing every problem: a listed schema file that is missing
 * or not valid GraphQL, and every composition error with its code.
 */
export function composeSupergraph(configPath = SUPERGRAPH_CONFIG): string {
  return composeSources(readSupergraphConfig(configPath));
}

/** The supergraph SDL composed from `sources`; throws a CompositionError as composeSupergraph does. */
export function composeSources(sources: readonly SubgraphSource[]): string {
  const problems: CompositionProblem[] = [];
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  for (const source of sources) {
    const file = relative(PROJECT_ROOT, source.file);
    if (!existsSync(source.file)) {
      problems.push({ code: 'MISSING_SCHEMA_FILE', message: `subgraph "${source.name}": ${file} does not exist` });
      continue;
    }
    try {
      services.push({ name: source.name, url: source.routingUrl, typeDefs: parse(readFileSync(source.file, 'utf8')) });
    } catch (error) {
      problems.push({ code: 'INVALID_GRAPHQL', message: `subgraph "${source.name}": ${file}: ${(error as Error).message}` });
    }
  }
  if (problems.length > 0) throw new CompositionError(problems);

  const result = composeServices(services);
  if (result.errors) {
    throw new CompositionError(result.errors.map((error) => ({ code: String(error.extensions?.code ?? 'COMPOSITION_ERROR'), message: error.message })));
  }
  return result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
}

export interface SupergraphStatus {
  /** True when both committed files are current: supergraph.yaml and supergraph.graphql. */
  current: boolean;
  /** True when supergraph.yaml lists exactly the subgraphs of subgraphs/index.ts. */
  configCurrent: boolean;
  composed: string;
  /** The file's text, or null when it does not exist. */
  committed: string | null;
}

const readIfExists = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : null);

/**
 * Composes the subgraphs of subgraphs/index.ts afresh and compares with the
 * committed supergraph.yaml and supergraph file (scripts/start.ts refuses to
 * start on a stale one).
 */
export function supergraphStatus(configPath = SUPERGRAPH_CONFIG, supergraphPath = SUPERGRAPH_FILE): SupergraphStatus {
  const configCurrent = readIfExists(configPath) === supergraphConfigText();
  const composed = composeSources(moduleSources());
  const committed = readIfExists(supergraphPath);
  return { current: configCurrent && committed === composed, configCurrent, composed, committed };
}

function main(args: string[]): number {
  const target = relative(process.cwd(), SUPERGRAPH_FILE);
  const config = relative(process.cwd(), SUPERGRAPH_CONFIG);
  try {
    if (args.includes('--check')) {
      const status = supergraphStatus();
      if (status.current) {
        console.log(`${config} and ${target} are up to date with subgraphs/index.ts and the subgraph schemas`);
        return 0;
      }
      if (!status.configCurrent) {
        console.error(`${config} is stale: it does not list the subgraphs of subgraphs/index.ts. Run \`npm run compose\` and commit the result`);
        return 1;
      }
      console.error(
        status.committed === null
          ? `${target} does not exist: run \`npm run compose\` and commit it`
          : `${target} is stale: the subgraph schemas compose to something else. Run \`npm run compose\` and commit the result`,
      );
      return 1;
    }
    // Composed before anything is written, so a failure leaves both files as they were.
    const sdl = composeSources(moduleSources());
    writeFileSync(SUPERGRAPH_CONFIG, supergraphConfigText());
    writeFileSync(SUPERGRAPH_FILE, sdl);
    console.log(
      `wrote ${config} and ${target} (${readSupergraphConfig()
        .map((s) => s.name)
        .join(', ')})`,
    );
    return 0;
  } catch (error) {
    console.error(error instanceof CompositionError ? error.message : error);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
