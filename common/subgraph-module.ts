import { fileURLToPath } from 'node:url';
import type { AnyJob } from './jobs.ts';
import type { OutboxTable } from './outbox-table.ts';
import type { SubgraphDeps } from './run-subgraph.ts';
import type { SubgraphApp } from './subgraph.ts';

/** Builds a subgraph's express app and Apollo server from its dependencies. */
export type SubgraphFactory = (deps: SubgraphDeps) => Promise<SubgraphApp & { close?: () => Promise<void> }>;

/**
 * What `subgraphs/<name>/module.ts` says about its subgraph, once: the facts
 * the gateway, the launcher, composition, config validation, drizzle-kit, the
 * outbox relay and the test stack read from `subgraphs/index.ts`. The static
 * facts are cheap to import; the server code is only loaded by `load()`.
 */
export interface SubgraphModule {
  /** The subgraph's name in the supergraph (and its folder under subgraphs/). */
  readonly name: string;
  /** The setting holding the port it listens on, e.g. `USERS_PORT`. */
  readonly portSetting: `${string}_PORT`;
  /** The setting holding its /graphql URL, e.g. `USERS_URL` (default `http://127.0.0.1:<port>/graphql`). */
  readonly urlSetting: `${string}_URL`;
  /** The port setting's default, also the routing URL's port in supergraph.yaml. */
  readonly defaultPort: number;
  /** Absolute path of its SDL (schema.graphql). */
  readonly schemaFile: string;
  /** The PostgreSQL schema its tables (db.ts) live in. */
  readonly pgSchema: string;
  /** The factory of its server (imported on demand: the gateway never needs it). */
  load(): Promise<SubgraphFactory>;
  /** Its transactional outbox, when it announces anything through the outbox relay. */
  outbox?(): Promise<OutboxTable>;
  /** The jobs it produces (through its outbox, or directly): each declared once, in its jobs.ts. */
  readonly jobs?: readonly AnyJob[];
}

/** What a module.ts states itself; defineSubgraph derives the rest from its name. */
export interface SubgraphFacts {
  readonly name: string;
  readonly defaultPort: number;
  load(): Promise<SubgraphFactory>;
  outbox?(): Promise<OutboxTable>;
  readonly jobs?: readonly AnyJob[];
}

/** A module's facts with the derived ones, keeping the literal types (config.ts keys its settings by them). */
export type DefinedSubgraph<F extends SubgraphFacts> = F & {
  readonly portSetting: `${Uppercase<F['name']>}_PORT`;
  readonly urlSetting: `${Uppercase<F['name']>}_URL`;
  readonly schemaFile: string;
  readonly pgSchema: F['name'];
};

/**
 * A subgraph's module.ts: `export default defineSubgraph(import.meta.url, { name, defaultPort, load, ... })`.
 * From the name: the settings `<NAME>_PORT` and `<NAME>_URL`, and the PostgreSQL schema;
 * the SDL is the schema.graphql next to the module. `load` (and `outbox`) stay the module's
 * own dynamic imports, so importing a module loads no server code.
 */
export function defineSubgraph<const F extends SubgraphFacts>(moduleUrl: string, facts: F): DefinedSubgraph<F> {
  const setting = facts.name.toUpperCase() as Uppercase<F['name']>;
  const module: DefinedSubgraph<F> = {
    ...facts,
    portSetting: `${setting}_PORT`,
    urlSetting: `${setting}_URL`,
    schemaFile: fileURLToPath(new URL('./schema.graphql', moduleUrl)),
    pgSchema: facts.name,
  };
  return module;
}
