// npm run backup -- dump | upload [--force] | list [--json] | restore <file> [--label <database>] [--database <url>] [--clean]
// dump: one dump of every distinct database (DATABASE_URL and each <NAME>_DATABASE_URL).
import { parseArgs } from 'node:util';
import { distinctDatabaseUrls } from '../common/databases.ts';
import { backupSettings } from '../workers/backup/settings.ts';
import { connect } from '../common/db.ts';
import { SUBGRAPH_NAMES } from './catalog.ts';
import { createLogger } from '../common/logger.ts';
import { BadBackupError } from '../workers/backup/archive.ts';
import { listArchives, listDumps, utcDay } from '../workers/backup/files.ts';
import { PgToolError } from '../workers/backup/pg.ts';
import { restoreBackup } from '../workers/backup/restore.ts';
import { backupLabels, BackupService } from '../workers/backup/service.ts';

const USAGE = 'usage: npm run backup -- dump | upload [--force] | list [--json] | restore <file> [--label <database>] [--database <url>] [--clean]';

class UsageError extends Error {}

function fail(command: string, error: unknown): never {
  const e = error as { code?: string; message?: string };
  let message = error instanceof Error ? error.message : String(error);
  if (e?.code === '42P01' || e?.code === '3F000') message = `the backup ledger is missing (${message}): run npm run db:migrate first`;
  else if (e?.code === 'ECONNREFUSED' && !(error instanceof BadBackupError || error instanceof PgToolError)) message = `cannot reach PostgreSQL (${message})`;
  console.error(`backup${command ? ` ${command}` : ''}: ${message.split('\n')[0]}`);
  process.exit(error instanceof UsageError ? 2 : 1);
}

const human = (bytes: number) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const [command = '', ...rest] = process.argv.slice(2);
  let args: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        database: { type: 'string' },
        label: { type: 'string' },
        clean: { type: 'boolean', default: false },
      },
    });
  }
  try {
    args = parse();
  } catch (error) {
    fail(command, new UsageError(`${(error as Error).message}; ${USAGE}`));
  }
  const config = backupSettings.load();
  // Every distinct database: each subgraph's own when it has one (common/databases.ts).
  const databaseUrls = distinctDatabaseUrls(config, SUBGRAPH_NAMES);
  const logger = createLogger('backup', process.env.LOG_LEVEL ?? 'warn');

  if (command === 'restore') {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length > 0) fail(command, new UsageError(`restore takes one file; ${USAGE}`));
    const { label } = args.values;
    // Into the database the label names (as this configuration labels them), unless --database says where.
    const labelled = label === undefined ? config.DATABASE_URL : backupLabels(databaseUrls).find((d) => d.label === label)?.url;
    const databaseUrl = args.values.database ?? labelled;
    if (!databaseUrl) fail(command, new UsageError(`no database of this configuration is labelled ${label}: pass --database <url>; ${USAGE}`));
    try {
      const result = await restoreBackup({ file, databaseUrl, label, clean: args.values.clean });
      console.log(`restored ${result.dump}${result.archive ? ` (newest dump in ${result.archive})` : ''} into ${result.database}: ${result.tables} tables`);
    } catch (error) {
      fail(command, error);
    }
    return;
  }
  if (!['dump', 'upload', 'list'].includes(command)) fail('', new UsageError(command ? `unknown command "${command}"; ${USAGE}` : USAGE));
  if (args.positionals.length > 0) fail(command, new UsageError(`unexpected argument "${args.positionals[0]}"; ${USAGE}`));

  const database = connect(config.DATABASE_URL, { max: 2 });
  const service = new BackupService(config, database.db, logger, databaseUrls);
  try {
    if (command === 'dump') {
      for (const dump of await service.dumpAll()) console.log(`dump ${dump.path} (${human(dump.size)}, sha256 ${dump.sha256})`);
    } else if (command === 'upload') {
      const day = utcDay(new Date());
      const attempt = await service.upload({ day, force: args.values.force });
      if (attempt.result === 'accepted')
        console.log(`uploaded ${attempt.name} (${attempt.dumps} dumps, ${human(attempt.size ?? 0)}) to ${config.BACKUP_URL}: accepted (${attempt.status})`);
      else if (attempt.result === 'skipped')
        throw new Error(
          `today's upload (${day}) is already ${attempt.outcome === 'accepted' ? 'accepted' : "done: the service said the day's slot is used"}; pass --force to send another`,
        );
      else if (attempt.result === 'slot-used')
        throw new Error(`the backup service answered 429: the day's one upload is used${attempt.retryAfter ? ` (retry after ${attempt.retryAfter} s)` : ''}`);
      else throw new Error(`upload ${attempt.result}: ${attempt.error}`);
    } else {
      const [dumps, archives, uploads] = await Promise.all([listDumps(service.dir), listArchives(service.dir), service.uploads()]);
      if (args.values.json) {
        console.log(JSON.stringify({ dir: service.dir, dumps, archives, uploads }, null, 2));
      } else {
        console.log(`dumps in ${service.dir}: ${dumps.length}`);
        for (const d of dumps) console.log(`  ${d.name}  ${human(d.size).padStart(10)}  ${d.sha256.slice(0, 16)}  ${d.time.toISOString()}`);
        console.log(`archives: ${archives.length}`);
        for (const a of archives) console.log(`  ${a.name}  ${human(a.size).padStart(10)}  ${a.sha256.slice(0, 16)}`);
        console.log(`uploads: ${uploads.length}`);
        for (const u of uploads) console.log(`  ${u.day}  ${u.name}  ${u.outcome}  attempts ${u.attempts}${u.lastError ? `  last error: ${u.lastError}` : ''}`);
      }
    }
  } catch (error) {
    fail(command, error);
  } finally {
    service.close();
    await database.close();
  }
}

await main();
