import { connect, type DbHandle, type DbOptions } from './db.ts';

/**
 * A database per subgraph, when wanted: each subgraph's tables live in the
 * database its own setting names (`USERS_DATABASE_URL`, `ORDERS_DATABASE_URL`,
 * …), which defaults to `DATABASE_URL`. Unset, one database holds every
 * subgraph's schema, as before; set, a subgraph's schema moves by changing
 * that one URL (docs/operations/databases.md).
 */

/** The settings a database URL is read from: DATABASE_URL, and `<NAME>_DATABASE_URL` of any subgraph that has its own. */
export interface DatabaseSettings {
  DATABASE_URL: string;
}

/** The setting naming subgraph `name`'s database: `USERS_DATABASE_URL` for `users`. */
export function databaseSetting<N extends string>(name: N): `${Uppercase<N>}_DATABASE_URL` {
  return `${name.toUpperCase() as Uppercase<N>}_DATABASE_URL`;
}

/** The database of subgraph `name` (its own setting when set and non-empty, else DATABASE_URL). */
export function databaseUrlOf(settings: DatabaseSettings, name: string): string {
  const own = (settings as unknown as Record<string, unknown>)[databaseSetting(name)];
  return typeof own === 'string' && own !== '' ? own : settings.DATABASE_URL;
}

/** The same database however its URL is spelt (a trailing slash, the order of query parameters). */
function keyOf(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.sort();
  return parsed.toString();
}

/**
 * Every distinct database of `subgraphs`, DATABASE_URL first (it holds the
 * workers' own tables: the backup ledger): what migrations and backups cover.
 */
export function distinctDatabaseUrls(settings: DatabaseSettings, subgraphs: readonly string[]): string[] {
  const urls = new Map<string, string>();
  for (const url of [settings.DATABASE_URL, ...subgraphs.map((name) => databaseUrlOf(settings, name))]) {
    const key = keyOf(url);
    if (!urls.has(key)) urls.set(key, url);
  }
  return [...urls.values()];
}

/** The database's name in a URL (what a backup is labelled with). */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
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
    const key = keyOf(url);
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
