import { open, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import postgres from 'postgres';
import { ensureDatabase } from '../../common/db.ts';
import { BadBackupError, extractNewestDump } from './archive.ts';
import { checksumPath, readChecksum, sha256File } from './files.ts';
import { PgToolError, pgRestore, pgRestoreList, redact } from './pg.ts';

export interface RestoreOptions {
  /** A dump (`*.dump`, with its `.sha256` beside it) or an archive (`*.tar`). */
  file: string;
  /** The target database; created when missing. */
  databaseUrl: string;
  /** For an archive holding several databases' dumps: the label of the one to restore (its dumps' names before the time). */
  label?: string;
  /** Allow a target that already has tables: what the dump holds is dropped and recreated. */
  clean?: boolean;
}

export interface RestoreResult {
  /** The dump restored (for an archive: its newest dump). */
  dump: string;
  archive?: string;
  database: string;
  tables: number;
}

type Kind = 'dump' | 'archive';

/** A custom-format dump begins with "PGDMP"; a tar has "ustar" at byte 257. */
async function kindOf(file: string): Promise<Kind | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 5 && head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'dump';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'archive';
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Tables in the database outside PostgreSQL's own schemas. */
async function countTables(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'`;
    return row?.n ?? 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Checks everything about the backup before touching the target: the file
 * exists and is a dump or an archive, its checksums match (the `.sha256` beside
 * a dump; the manifest inside an archive, and the archive's own `.sha256` when
 * it has one), and pg_restore can read it. Only then is the target created if
 * missing, refused when it has tables (unless `clean`), and restored in one
 * transaction (a failure leaves it as it was). Bad input throws BadBackupError
 * with a one-line message.
 */
export async function restoreBackup({ file, databaseUrl, label, clean = false }: RestoreOptions): Promise<RestoreResult> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new BadBackupError(`no such file: ${file}`);
  if (!info.isFile()) throw new BadBackupError(`not a file: ${file}`);
  const kind = await kindOf(file);
  if (!kind) throw new BadBackupError(`${basename(file)} is neither a pg_dump custom-format dump nor a backup archive`);

  const expected = await readChecksum(file);
  if (kind === 'dump' && !expected)
    throw new BadBackupError(`${basename(file)} has no checksum beside it (${basename(checksumPath(file))}), so it cannot be verified`);
  if (expected) {
    const actual = await sha256File(file);
    if (actual !== expected)
      throw new BadBackupError(
        `checksum mismatch for ${basename(file)}: ${basename(checksumPath(file))} says ${expected.slice(0, 12)}…, the file is ${actual.slice(0, 12)}…`,
      );
  }

  const scratch = kind === 'archive' ? await mkdtemp(join(tmpdir(), 'junction-restore-')) : undefined;
  try {
    let dump = file;
    if (scratch) dump = (await extractNewestDump(file, scratch, label)).path;
    try {
      await pgRestoreList(dump);
    } catch (error) {
      throw new BadBackupError(`${basename(dump)} is not a readable dump (${(error as Error).message})`);
    }
    const target = redact(databaseUrl);
    await ensureDatabase(databaseUrl);
    const tables = await countTables(databaseUrl);
    if (tables > 0 && !clean)
      throw new BadBackupError(
        `target database ${target} is not empty (${tables} tables): restore into a new database, or pass --clean to replace what the dump holds`,
      );
    try {
      await pgRestore(databaseUrl, dump, { clean });
    } catch (error) {
      throw new PgToolError(`restore into ${target} failed and was rolled back: ${(error as Error).message}`);
    }
    return { dump: basename(dump), ...(scratch ? { archive: basename(file) } : {}), database: target, tables: await countTables(databaseUrl) };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
