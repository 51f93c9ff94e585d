import { z } from 'zod';

/**
 * A database per subgraph, when wanted: each subgraph's tables live in the
 * database its own setting names (`USERS_DATABASE_URL`, `ORDERS_DATABASE_URL`,
 * …), which defaults to `DATABASE_URL`. Unset, one database holds every
 * subgraph's schema, as before; set, a subgraph's schema moves by changing
 * that one URL (docs/operations/databases.md). Settings only (config.ts
 * reads it): the pool per database, Databases, is in db.ts.
 */

/** The settings a database URL is read from: DATABASE_URL, and `<NAME>_DATABASE_URL` of any subgraph that has its own. */
export interface DatabaseSettings {
  DATABASE_URL: string;
}

/** The setting naming subgraph `name`'s database: `USERS_DATABASE_URL` for `users`. */
export function databaseSetting<N extends string>(name: N): `${Uppercase<N>}_DATABASE_URL` {
  return `${name.toUpperCase() as Uppercase<N>}_DATABASE_URL`;
}

/** A subgraph's own database URL: unset or empty, DATABASE_URL. */
const ownDatabaseUrl = z.union([z.literal(''), z.url()]).default('');

/**
 * The `<NAME>_DATABASE_URL` setting of each of `names`, for a process's
 * settings schema: every process that touches a subgraph's tables (or
 * migrates or backs them up) declares that subgraph's.
 */
export function databaseUrlSettings<const N extends string>(names: readonly N[]): { [K in N as `${Uppercase<K>}_DATABASE_URL`]: typeof ownDatabaseUrl } {
  return Object.fromEntries(
    names.map((name) => [
      databaseSetting(name),
      ownDatabaseUrl.describe(
        `The ${name} subgraph's own PostgreSQL database (its \`${name}\` schema), created if missing and migrated by \`npm run db:migrate\`; unset or empty, DATABASE_URL (docs/operations/databases.md).`,
      ),
    ]),
  ) as { [K in N as `${Uppercase<K>}_DATABASE_URL`]: typeof ownDatabaseUrl };
}

/** The database of subgraph `name` (its own setting when set and non-empty, else DATABASE_URL). */
export function databaseUrlOf(settings: DatabaseSettings, name: string): string {
  const own = (settings as unknown as Record<string, unknown>)[databaseSetting(name)];
  return typeof own === 'string' && own !== '' ? own : settings.DATABASE_URL;
}

/** The same database however its URL is spelt (a trailing slash, the order of query parameters). */
export function databaseKey(url: string): string {
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
    const key = databaseKey(url);
    if (!urls.has(key)) urls.set(key, url);
  }
  return [...urls.values()];
}

/** The database's name in a URL (what a backup is labelled with). */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}
