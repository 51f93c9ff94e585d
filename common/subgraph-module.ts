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
