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
  /** The setting holding its database's URL, e.g. `USERS_DATABASE_URL` (default DATABASE_URL; common/databases.ts). */
  readonly databaseSetting: `${string}_DATABASE_URL`;
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

/** What a subgraph's server.ts exports: its factory, named after it (`createUsersSubgraph`). */
export type ServerModule<N extends string> = { readonly [K in `create${Capitalize<N>}Subgraph`]: SubgraphFactory };
/** What a subgraph's db.ts exports when it announces anything: its outbox, named after it (`usersOutbox`). */
export type OutboxModule<N extends string> = { readonly [K in `${N}Outbox`]: OutboxTable };

/** What a module.ts states itself; defineSubgraph derives the rest from its name. */
export interface SubgraphFacts {
  readonly name: string;
  readonly defaultPort: number;
  readonly jobs?: readonly AnyJob[];
}

/**
 * Where a module's code is, imported on first use so that importing the module
 * loads none of it: the module's own `import()` of '.js' files (tsx runs the .ts
 * beside them; tsc does not rewrite dynamic imports for dist/). Typed loosely
 * here, as checking the server's types in defineSubgraph's signature would make
 * config.ts's types circular: subgraphs/index.ts checks them (ExportsWhatItNames).
 */
export interface SubgraphCode {
  /** `() => import('./server.js')`: its server.ts, exporting `create<Name>Subgraph`. */
  server(): Promise<object>;
  /** `() => import('./db.js')`, when it has an outbox: its db.ts, exporting `<name>Outbox`. */
  outbox?(): Promise<object>;
}

/** Where a defined module keeps the types of its code, for tsc only: no such property exists at run time. */
declare const code: unique symbol;

/** A module's facts with the derived ones, keeping the literal types (config.ts keys its settings by them). */
export type DefinedSubgraph<F extends SubgraphFacts, C extends SubgraphCode> = F & {
  readonly portSetting: `${Uppercase<F['name']>}_PORT`;
  readonly urlSetting: `${Uppercase<F['name']>}_URL`;
  readonly databaseSetting: `${Uppercase<F['name']>}_DATABASE_URL`;
  readonly schemaFile: string;
  readonly pgSchema: F['name'];
  load(): Promise<SubgraphFactory>;
  readonly [code]?: C;
} & (C extends { outbox(): unknown } ? { outbox(): Promise<OutboxTable> } : unknown);

type Imported<L> = L extends () => Promise<infer M> ? M : never;

/**
 * `true` when the server.ts (and db.ts) a defined module imports export what
 * its name promises, typed as SubgraphModule needs them; `false` otherwise.
 */
export type ExportsWhatItNames<S> = S extends { readonly name: infer N extends string; readonly [code]?: infer C extends SubgraphCode }
  ? Imported<C['server']> extends ServerModule<N>
    ? C extends { outbox(): unknown }
      ? Imported<C['outbox']> extends OutboxModule<N>
        ? true
        : false
      : true
    : false
  : never;

/** The export `create<Name>Subgraph` or `<name>Outbox` of a module a subgraph's module.ts imported. */
async function exported<T>(load: () => Promise<object>, name: string, subgraph: string): Promise<T> {
  const value = (await load()) as Record<string, unknown>;
  if (value[name] === undefined) throw new Error(`subgraph ${subgraph}: the module its module.ts imports exports no ${name}`);
  return value[name] as T;
}

/**
 * A subgraph's module.ts:
 * `export default defineSubgraph(import.meta.url, { name, defaultPort, jobs }, { server: () => import('./server.js') })`.
 * From the name: the settings `<NAME>_PORT`, `<NAME>_URL` and `<NAME>_DATABASE_URL`, the PostgreSQL schema, and
 * the exports to take from server.ts (`create<Name>Subgraph`) and db.ts (`<name>Outbox`);
 * the SDL is the schema.graphql next to the module.
 */
export function defineSubgraph<const F extends SubgraphFacts, const C extends SubgraphCode>(
  moduleUrl: string,
  facts: F,
  { server, outbox }: C,
): DefinedSubgraph<F, C> {
  const { name } = facts;
  const setting = name.toUpperCase() as Uppercase<F['name']>;
  const module = {
    ...facts,
    portSetting: `${setting}_PORT`,
    urlSetting: `${setting}_URL`,
    databaseSetting: `${setting}_DATABASE_URL`,
    schemaFile: fileURLToPath(new URL('./schema.graphql', moduleUrl)),
    pgSchema: name,
    load: () => exported<SubgraphFactory>(server, `create${name.charAt(0).toUpperCase()}${name.slice(1)}Subgraph`, name),
    ...(outbox ? { outbox: () => exported<OutboxTable>(outbox, `${name}Outbox`, name) } : {}),
  };
  return module as DefinedSubgraph<F, C>;
}
