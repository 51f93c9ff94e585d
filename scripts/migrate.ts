/**
 *   npm run db:migrate              creates each database if missing and applies every migration to it
 *   npm run db:migrate -- --wait    applies nothing: waits until another process (the Kubernetes
 *                                   migrate Job) has applied every migration of this checkout to each
 *                                   database, then exits 0; exits 1 after MIGRATE_WAIT_TIMEOUT_MS
 *
 * Each database: every distinct one of DATABASE_URL and the subgraphs' own
 * <NAME>_DATABASE_URL (common/databases.ts). The migrations in drizzle/ are
 * one history: each database gets all of it, so a subgraph's schema is there
 * whichever database its URL names (the other schemas stay empty in it).
 */
import { databaseName, distinctDatabaseUrls } from '../common/databases.ts';
import { migrateSettings } from './settings.ts';
import { migrateDatabase, migrationsApplied } from '../common/db.ts';
import { SUBGRAPH_NAMES } from './catalog.ts';

const config = migrateSettings.load();
const urls = distinctDatabaseUrls(config, SUBGRAPH_NAMES);
/** A database as the log names it: its name, with host and port when there are several. */
const nameOf = (url: string) => (urls.length > 1 ? `${databaseName(url)} at ${new URL(url).host}` : databaseName(url));

if (process.argv.includes('--wait')) {
  const deadline = Date.now() + config.MIGRATE_WAIT_TIMEOUT_MS;
  for (const url of urls) {
    const database = nameOf(url);
    let said = '';
    for (;;) {
      let reason: string;
      try {
        if (await migrationsApplied(url)) break;
        reason = 'migrations not applied yet';
      } catch (error) {
        reason = `database not reachable: ${(error as Error).message}`;
      }
      if (reason !== said) console.log(`waiting for the migrations of ${database}: ${reason}`);
      said = reason;
      if (Date.now() > deadline) {
        console.error(`the migrations of ${database} were not applied within ${config.MIGRATE_WAIT_TIMEOUT_MS} ms (${reason})`);
        process.exit(1);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    console.log(`migrations of ${database} are applied`);
  }
} else {
  for (const url of urls) {
    await migrateDatabase(url);
    console.log(`migrations applied to ${nameOf(url)}`);
  }
}
