/**
 *   npm run db:migrate              creates the database if missing and applies every migration
 *   npm run db:migrate -- --wait    applies nothing: waits until another process (the Kubernetes
 *                                   migrate Job) has applied every migration of this checkout, then
 *                                   exits 0; exits 1 after MIGRATE_WAIT_TIMEOUT_MS
 */
import { loadConfig } from '../common/config.ts';
import { migrateDatabase, migrationsApplied } from '../common/db.ts';

const config = loadConfig();
const database = new URL(config.DATABASE_URL).pathname.slice(1);

if (process.argv.includes('--wait')) {
  const deadline = Date.now() + config.MIGRATE_WAIT_TIMEOUT_MS;
  let said = '';
  for (;;) {
    let reason: string;
    try {
      if (await migrationsApplied(config.DATABASE_URL)) break;
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
} else {
  await migrateDatabase(config.DATABASE_URL);
  console.log(`migrations applied to ${database}`);
}
