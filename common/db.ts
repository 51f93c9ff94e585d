import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { fileURLToPath } from 'node:url';
import { databaseKey, databaseUrlOf, type DatabaseSettings } from './databases.ts';

/** drizzle over postgres.js; `$client` is the pool itself (LISTEN needs it). */
export type Database = PostgresJsDatabase & { $client: postgres.Sql };

export interface DbHandle {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface DbOptions {
  /** Largest number of pooled connections. Default 10. */
  max?: number;
  /** Called with every SQL statement sent; tests count statements with it. */
  onQuery?: (query: string) => void;
}

/**
 * Seconds before a pooled connection tries PostgreSQL again after failing to
 * reach it: 0.1 s doubling, at most 1 s. (postgres.js's default grows to 20 s
 * after a few failures, so a service would sit idle up to 20 s after a short
 * outage.)
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.1 * 2 ** Math.max(0, failures - 1), 1);
}

/** A drizzle handle over a postgres.js pool; it reconnects by itself when PostgreSQL comes back. */
export function connect(url: string, options: DbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    backoff: reconnectDelaySeconds,
  });
  const db = drizzle(sql, options.onQuery ? { logger: { logQuery: (query) => options.onQuery!(query) } } : {});
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`DATABASE_URL names an unusable database "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      try {
        await sql.unsafe(`create database "${name}"`);
      } catch (error) {
        // Another process created it between our check and our create.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

/** Creates the database if missing and applies every migration in drizzle/. */
export async function migrateDatabase(url: string): Promise<void> {
  await ensureDatabase(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // One migrator at a time, so services started together do not race.
    await sql`select pg_advisory_lock(7239001)`;
    try {
      await migrate(drizzle(sql), { migrationsFolder, migrationsSchema: 'drizzle' });
    } finally {
      await sql`select pg_advisory_unlock(7239001)`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * True when every migration in drizzle/ is applied to the database at `url`
 * (drizzle records each by its journal time); false while the database, its
 * migrations table or a migration is missing. Applies nothing.
 */
export async function migrationsApplied(url: string): Promise<boolean> {
  const latest = Math.max(0, ...readMigrationFiles({ migrationsFolder }).map((m) => m.folderMillis));
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql`select coalesce(max(created_at), 0)::bigint as applied from drizzle.__drizzle_migrations`;
    return Number(row!.applied) >= latest;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // No database yet (3D000), no migrations table yet (42P01 / 3F000): not applied.
    if (code === '3D000' || code === '42P01' || code === '3F000') return false;
    throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** What a LISTEN connection reports. */
export interface ListenHandlers {
  /** A notification on a channel the connection listens to. */
  onnotify(channel: string, payload: string): void;
  /** The connection closed: its LISTENs are gone; the next statement reconnects. */
  onclose(): void;
}

/**
 * A connection of its own to the database `sql` connects to, for LISTEN
 * (postgres.js's own sql.listen gives up on a channel when its reconnect
 * fails during an outage; here the caller listens again when it likes).
 */
export function listenConnection(sql: postgres.Sql, handlers: ListenHandlers): postgres.Sql {
  const o = sql.options;
  // postgres.js reads `onnotify` (what its own listen() uses) but does not declare it.
  const options: postgres.Options<Record<string, never>> & { onnotify: ListenHandlers['onnotify'] } = {
    // Each host with its port, as a URL lists several.
    host: o.host.map((host, i) => `${host}:${o.port[i] ?? o.port[0]}`).join(','),
    port: o.port[0],
    path: o.path || undefined,
    database: o.database,
    user: o.user,
    // postgres.js's types hide the password of parsed options; it is there (a string or a function).
    pass: (o as unknown as { pass: postgres.Options<Record<string, never>>['pass'] }).pass,
    ssl: o.ssl,
    connection: o.connection,
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    fetch_types: false,
    onnotice: () => {},
    backoff: reconnectDelaySeconds,
    onnotify: handlers.onnotify,
    onclose: () => handlers.onclose(),
  };
  return postgres(options);
}

/**
 * A pool per distinct database, shared by the subgraphs whose tables live
 * there: a process that touches several subgraphs' tables (the workers) asks
 * for each subgraph's handle with `of(name)`, and gets the same one for every
 * subgraph of one database.
 */
export class Databases {
  private readonly handles = new Map<string, DbHandle>();

  constructor(
    private readonly settings: DatabaseSettings,
    private readonly options: DbOptions = {},
  ) {}

  /** The handle of DATABASE_URL (the workers' own tables). */
  get main(): DbHandle {
    return this.at(this.settings.DATABASE_URL);
  }

  /** The handle of subgraph `name`'s database. */
  of(name: string): DbHandle {
    return this.at(databaseUrlOf(this.settings, name));
  }

  /** Every handle opened so far, one per distinct database. */
  all(): DbHandle[] {
    return [...this.handles.values()];
  }

  private at(url: string): DbHandle {
    const key = databaseKey(url);
    let handle = this.handles.get(key);
    if (!handle) {
      handle = connect(url, this.options);
      this.handles.set(key, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    const handles = this.all();
    this.handles.clear();
    await Promise.all(handles.map((handle) => handle.close()));
  }
}
