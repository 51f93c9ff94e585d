import { fileURLToPath } from 'node:url';
import type { BaseConfig, Settings } from './config.ts';
import type { Database } from './db.ts';
import type { AnyJob } from './jobs.ts';
import type { Logger } from './logger.ts';
import type { OutboxTable } from './outbox-table.ts';
import type { SubgraphApp } from './subgraph.ts';

/** What every subgraph process reads: the base settings and the subscription heartbeat (common/subgraph.ts). */
export type SubgraphConfig = BaseConfig & { SUBSCRIPTION_HEARTBEAT_MS: number };

/** What a subgraph's server is built from: its database, its settings, its logger. */
export interface SubgraphDeps<C extends SubgraphConfig = SubgraphConfig> {
  db: Database;
  config: C;
  logger: Logger;
}

/** Builds a subgraph's express app and Apollo server from its dependencies. */
export type SubgraphFactory<C extends SubgraphConfig = SubgraphConfig> = (deps: SubgraphDeps<C>) => Promise<SubgraphApp & { close?: () => Promise<void> }>;

/**
 * What `subgraphs/<name>/module.ts` says about its subgraph, once: the facts
 * the launcher, composition, drizzle-kit, the outbox relay and the test stack
 * read from `subgraphs/index.ts`, and the settings its process reads. The
 * static facts are cheap to import; the server code is only loaded by `load()`.
 */
export interface SubgraphModule<C extends SubgraphConfig = SubgraphConfig, P extends string = `${string}_PORT`> {
  /** The subgraph's name in the supergraph (and its folder under subgraphs/). */
  readonly name: string;
  /** The setting holding the port it listens on, e.g. `USERS_PORT`. */
  readonly portSetting: P;
  /** The setting holding its /graphql URL, e.g. `USERS_URL` (default `http://127.0.0.1:<port>/graphql`). */
  readonly urlSetting: `${string}_URL`;
  /** The setting holding its database's URL, e.g. `USERS_DATABASE_URL` (default DATABASE_URL; common/databases.ts). */
  readonly databaseSetting: `${string}_DATABASE_URL`;
  /** The port setting's default, also the routing URL's port in supergraph.yaml. */
  readonly defaultPort: number;
  /** Absolute path of its SDL (schema.graphql). */
  readonly schemaFile: string;
  /** The PostgreSQL schema its tables (db.ts) live in. */
  readonly pgSchema: string;
  /** The settings its process reads and checks at start (its settings.ts), its port setting among them. */
  readonly settings: Settings<C>;
  /** The factory of its server (imported on demand: the gateway never needs it). */
  load(): Promise<SubgraphFactory<C>>;
  /** Its transactional outbox, when it announces anything through the outbox relay. */
  outbox?(): Promise<OutboxTable>;
  /** The jobs it produces (through its outbox, or directly): each declared once, in its jobs.ts. */
  readonly jobs?: readonly AnyJob[];
}

/** What a subgraph's server.ts exports: its factory, named after it (`createUsersSubgraph`). */
export type ServerModule<N extends string, C extends SubgraphConfig> = { readonly [K in `create${Capitalize<N>}Subgraph`]: SubgraphFactory<C> };
/** What a subgraph's db.ts exports when it announces anything: its outbox, named after it (`usersOutbox`). */
export type OutboxModule<N extends string> = { readonly [K in `${N}Outbox`]: OutboxTable };

/** The port setting of subgraph N: `USERS_PORT` for `users`. */
export type PortSetting<N extends string> = `${Uppercase<N>}_PORT`;

/** What a module.ts states itself; defineSubgraph derives the rest from its name. */
export interface SubgraphFacts<N extends string, C> {
  readonly name: N;
  readonly defaultPort: number;
  /** Its settings.ts: the base settings, its port setting and its own. */
  readonly settings: Settings<C>;
  readonly jobs?: readonly AnyJob[];
}

/**
 * Where a module's code is, imported on first use so that importing the module
 * loads none of it: the module's own `import()` of '.js' files (tsx runs the .ts
 * beside them; tsc does not rewrite dynamic imports for dist/). tsc checks that
 * they export what the subgraph's name promises, typed by its settings.
 */
export interface SubgraphCode<N extends string, C extends SubgraphConfig> {
  /** `() => import('./server.js')`: its server.ts, exporting `create<Name>Subgraph`. */
  server(): Promise<ServerModule<N, C>>;
  /** `() => import('./db.js')`, when it has an outbox: its db.ts, exporting `<name>Outbox`. */
  outbox?(): Promise<OutboxModule<N>>;
}

/** The export `create<Name>Subgraph` or `<name>Outbox` of a module a subgraph's module.ts imported. */
async function exported<T>(load: () => Promise<object>, name: string, subgraph: string): Promise<T> {
  const value = new Map(Object.entries(await load())).get(name);
  if (value === undefined) throw new Error(`subgraph ${subgraph}: the module its module.ts imports exports no ${name}`);
  return value as T;
}

/**
 * A subgraph's module.ts:
 * `export default defineSubgraph(import.meta.url, { name, defaultPort, settings, jobs }, { server: () => import('./server.js') })`.
 * From the name: the settings `<NAME>_PORT`, `<NAME>_URL` and `<NAME>_DATABASE_URL`, the PostgreSQL schema, and
 * the exports to take from server.ts (`create<Name>Subgraph`) and db.ts (`<name>Outbox`);
 * the SDL is the schema.graphql next to the module.
 */
export function defineSubgraph<const N extends string, C extends SubgraphConfig & { readonly [K in PortSetting<N>]: number }>(
  moduleUrl: string,
  facts: SubgraphFacts<N, C>,
  { server, outbox }: SubgraphCode<N, NoInfer<C>>,
): SubgraphModule<C, PortSetting<N>> & { readonly name: N } {
  const { name } = facts;
  const setting = name.toUpperCase() as Uppercase<N>;
  return {
    ...facts,
    portSetting: `${setting}_PORT`,
    urlSetting: `${setting}_URL`,
    databaseSetting: `${setting}_DATABASE_URL`,
    schemaFile: fileURLToPath(new URL('./schema.graphql', moduleUrl)),
    pgSchema: name,
    load: () => exported<SubgraphFactory<C>>(server, `create${name.charAt(0).toUpperCase()}${name.slice(1)}Subgraph`, name),
    ...(outbox ? { outbox: () => exported<OutboxTable>(outbox, `${name}Outbox`, name) } : {}),
  };
}
