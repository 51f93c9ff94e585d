import { loadConfig } from '../common/config.ts';
import { migrateDatabase } from '../common/db.ts';

const config = loadConfig();
await migrateDatabase(config.DATABASE_URL);
console.log(`migrations applied to ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
