/**
 * Composes supergraph.graphql from the subgraph schemas listed in supergraph.yaml
 * (rover's config format), with the same @apollo/composition the gateway runs.
 *
 *   npm run compose            writes supergraph.graphql, or prints every error and exits 1
 *   npm run compose -- --check exits 1 when the committed supergraph.graphql is stale
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse, type DocumentNode } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

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
  const sources = readSupergraphConfig(configPath);
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
    throw new CompositionError(
      result.errors.map((error) => ({ code: String(error.extensions?.code ?? 'COMPOSITION_ERROR'), message: error.message })),
    );
  }
  return result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
}

export interface SupergraphStatus {
  /** True when the committed supergraph.graphql equals a fresh composition. */
  current: boolean;
  composed: string;
  /** The file's text, or null when it does not exist. */
  committed: string | null;
}

/** Composes afresh and compares with the supergraph file (scripts/start.ts refuses to start on a stale one). */
export function supergraphStatus(configPath = SUPERGRAPH_CONFIG, supergraphPath = SUPERGRAPH_FILE): SupergraphStatus {
  const composed = composeSupergraph(configPath);
  const committed = existsSync(supergraphPath) ? readFileSync(supergraphPath, 'utf8') : null;
  return { current: committed === composed, composed, committed };
}

function main(args: string[]): number {
  const target = relative(process.cwd(), SUPERGRAPH_FILE);
  try {
    if (args.includes('--check')) {
      const status = supergraphStatus();
      if (status.current) {
        console.log(`${target} is up to date with the subgraph schemas`);
        return 0;
      }
      console.error(
        status.committed === null
          ? `${target} does not exist: run \`npm run compose\` and commit it`
          : `${target} is stale: the subgraph schemas compose to something else. Run \`npm run compose\` and commit the result`,
      );
      return 1;
    }
    const sdl = composeSupergraph();
    writeFileSync(SUPERGRAPH_FILE, sdl);
    console.log(`wrote ${target} (${readSupergraphConfig().map((s) => s.name).join(', ')})`);
    return 0;
  } catch (error) {
    console.error(error instanceof CompositionError ? error.message : error);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
