import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../scripts/settings.ts';
import { listen, type Listening } from '../../../common/http.ts';
import { createLogger } from '../../../common/logger.ts';
import { createExternalApp } from '../../../external/server.ts';
import type { ExternalState } from '../../../external/state.ts';
import { runBackupCli, seedEveryTable, tableDigests } from '../../../test/support/backup.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { BadBackupError, buildArchive } from '../archive.ts';
import { checksumPath, dumpLabel, listDumps } from '../files.ts';
import { restoreBackup } from '../restore.ts';
import { BackupService } from '../service.ts';

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const logger = createLogger('backup', 'silent');

let source: TestDatabase;
let dir: string;
let scratch: string;
let external: Listening;
let state: ExternalState;
let service: BackupService;
let cliEnv: Record<string, string>;
const created: string[] = [];

/** The URL of a database that does not exist yet (dropped after the file). */
function newDatabase(label: string): string {
  const name = `jt_restore_${label}_${randomBytes(4).toString('hex')}`;
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function digestsOf(url: string): Promise<Record<string, string>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await tableDigests(sql);
  } finally {
    await sql.end();
  }
}

beforeAll(async () => {
  source = await createTestDatabase('backup_restore');
  await seedEveryTable(source.sql, { skip: ['backups.uploads'] });
  // The ledger gets a real row: an earlier day's accepted upload (older than any dump made here).
  await source.sql`insert into backups.uploads (day, name, outcome, attempts, last_status, covers_to, dumps, size, sha256)
    values ('2026-01-01', 'old-2026-01-01.tar', 'accepted', 1, 201, '2026-01-01T23:55:00Z', 288, 1000, ${'a'.repeat(64)})`;
  dir = await mkdtemp(join(tmpdir(), 'jt-backups-'));
  scratch = await mkdtemp(join(tmpdir(), 'jt-backups-scratch-'));
  const app = createExternalApp({ logger });
  state = app.state;
  external = await listen(app.app, 0);
  const env = { DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_URL: external.url, BACKUP_UPLOAD_TIMEOUT_MS: '5000' };
  service = new BackupService(parseConfig(env), source.db, logger);
  cliEnv = { ...env, LOG_LEVEL: 'silent' };
});

afterAll(async () => {
  service?.close();
  await external?.close();
  await source?.drop();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  for (const name of created) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

describe('restore', () => {
  it('restores a dump into a fresh database with the same rows in every table (and sequences)', async () => {
    const before = await tableDigests(source.sql);
    const tables = Object.keys(before).filter((key) => !key.startsWith('sequence '));
    expect(tables).toEqual(expect.arrayContaining(['users.users', 'orders.orders', 'inventory.products', 'backups.uploads']));
    for (const table of tables) expect(before[table], table).toMatch(/^[1-9]\d* rows /);

    const dump = await service.dump();
    expect((await listDumps(dir)).map((d) => d.name)).toEqual([dump.name]);
    const target = newDatabase('copy');
    const result = await restoreBackup({ file: dump.path, databaseUrl: target });
    expect(result).toMatchObject({ dump: dump.name, tables: tables.length });
    expect(await digestsOf(target)).toEqual(before);
  });

  it('refuses a target that has tables unless --clean, which replaces what the dump holds', async () => {
    const [dump] = await listDumps(dir);
    const target = newDatabase('busy');
    await restoreBackup({ file: dump!.path, databaseUrl: target });
    const sql = postgres(target, { max: 1, onnotice: () => {} });
    try {
      await sql`delete from users.users`;
      const changed = await tableDigests(sql);
      await expect(restoreBackup({ file: dump!.path, databaseUrl: target })).rejects.toThrow(/is not empty \(\d+ tables\).*--clean/);
      expect(await tableDigests(sql)).toEqual(changed);
      await restoreBackup({ file: dump!.path, databaseUrl: target, clean: true });
      expect(await tableDigests(sql)).toEqual(await tableDigests(source.sql));
    } finally {
      await sql.end();
    }
  });

  it('restores the archive that was uploaded (npm run backup -- restore), from its newest dump', async () => {
    await source.sql`insert into users.users (name, email) values ('Newest', ${`newest-${randomBytes(3).toString('hex')}@example.com`})`;
    const atDump = await tableDigests(source.sql);
    await service.dump();
    const attempt = await service.upload();
    expect(attempt).toMatchObject({ result: 'accepted', outcome: 'accepted', status: 201, dumps: 2 });
    const stored = state.backups.get(attempt.name);
    expect(stored?.body.length).toBe(attempt.size);

    // The operator's way: fetch the archive back from the backup service, restore it into a new database.
    const fetched = await fetch(`${external.url}/backups/${attempt.name}`);
    expect(fetched.status).toBe(200);
    const downloaded = join(scratch, attempt.name);
    await writeFile(downloaded, Buffer.from(await fetched.arrayBuffer()));
    const target = newDatabase('archive');
    const restored = await runBackupCli(['restore', downloaded, '--database', target], cliEnv);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^restored .+\.dump \(newest dump in .+\.tar\) into .+: \d+ tables\n$/);
    expect(await digestsOf(target)).toEqual(atDump);
  });

  it('refuses a second upload the same UTC day unless --force (and the service refuses that one with 429)', async () => {
    const puts = () => state.calls.filter((c) => c.method === 'PUT').length;
    const before = puts();
    const refused = await runBackupCli(['upload'], cliEnv);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^backup upload: today's upload \(\d{4}-\d{2}-\d{2}\) is already accepted; pass --force to send another\n$/);
    expect(puts()).toBe(before);

    const forced = await service.upload({ force: true });
    expect(forced).toMatchObject({ result: 'slot-used', outcome: 'accepted', status: 429 });
    expect(forced.retryAfter).toBeGreaterThan(0);
    expect(puts()).toBe(before + 1);
    const [row] = await service.uploads();
    expect(row).toMatchObject({ outcome: 'accepted', attempts: 2, lastStatus: 429 });
  });

  it('refuses a corrupt or truncated archive, a wrong checksum, a garbage or missing file: one line, non-zero, target untouched', async () => {
    const target = newDatabase('untouched');
    const sql = postgres(target.replace(/\/[^/]+$/, '/postgres'), { max: 1, onnotice: () => {} });
    await sql.unsafe(`create database "${new URL(target).pathname.slice(1)}"`);
    await sql.end();
    const targetSql = postgres(target, { max: 1, onnotice: () => {} });
    await targetSql`create table precious (id int primary key, note text)`;
    await targetSql`insert into precious values (1, 'keep me')`;
    const untouched = await tableDigests(targetSql);

    const [archive] = (await service.uploads()).map((u) => join(dir, 'archives', u.name));
    const flipped = join(scratch, 'flipped.tar');
    const bytes = await readFile(archive!);
    // Inside the first dump's data (past its "PGDMP" header), not in tar padding.
    const inside = bytes.indexOf('PGDMP') + 2000;
    expect(inside).toBeGreaterThan(2000);
    for (let i = 0; i < 16; i += 1) bytes[inside + i]! ^= 0xff;
    await writeFile(flipped, bytes);
    const truncated = join(scratch, 'truncated.tar');
    await copyFile(archive!, truncated);
    await truncate(truncated, Math.floor(bytes.length / 3));
    const [dump] = await listDumps(dir);
    const mismatched = join(scratch, 'mismatched.dump');
    await copyFile(dump!.path, mismatched);
    await writeFile(checksumPath(mismatched), `${'0'.repeat(64)}  mismatched.dump\n`);
    const unverifiable = join(scratch, 'unverifiable.dump');
    await copyFile(dump!.path, unverifiable);
    const garbage = join(scratch, 'garbage.tar');
    await writeFile(garbage, randomBytes(4096));

    // The command: one line on stderr, exit code 1.
    const cli: [string, RegExp][] = [
      [flipped, /^backup restore: flipped\.tar: checksum mismatch for .+\.dump \(manifest [0-9a-f]{12}…, content [0-9a-f]{12}…\)$/],
      [mismatched, /^backup restore: checksum mismatch for mismatched\.dump: mismatched\.dump\.sha256 says 000000000000…, the file is [0-9a-f]{12}…$/],
    ];
    const results = await Promise.all(cli.map(([file]) => runBackupCli(['restore', file, '--database', target, '--clean'], cliEnv)));
    results.forEach((result, i) => {
      const [file, message] = cli[i]!;
      expect({ file, code: result.code, stdout: result.stdout, lines: result.stderr.trimEnd().split('\n').length }).toEqual({
        file,
        code: 1,
        stdout: '',
        lines: 1,
      });
      expect(result.stderr.trimEnd()).toMatch(message);
    });
    // The same checks in-process (the command prints these messages).
    const inProcess: [string, RegExp][] = [
      [truncated, /^truncated\.tar (is not a readable archive|is not a valid archive|: .+ is listed in the manifest but missing)/],
      [unverifiable, /^unverifiable\.dump has no checksum beside it \(unverifiable\.dump\.sha256\), so it cannot be verified$/],
      [garbage, /^garbage\.tar is neither a pg_dump custom-format dump nor a backup archive$/],
      [join(scratch, 'missing.dump'), /^no such file: .+missing\.dump$/],
    ];
    for (const [file, message] of inProcess) {
      const error = await restoreBackup({ file, databaseUrl: target, clean: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, file).toBeInstanceOf(BadBackupError);
      expect((error as Error).message).toMatch(message);
    }
    expect(await tableDigests(targetSql)).toEqual(untouched);
    await targetSql.end();
  });

  it('lists dumps, archives and uploads (npm run backup -- list --json)', async () => {
    const listed = await runBackupCli(['list', '--json'], cliEnv);
    expect(listed.code).toBe(0);
    const body = JSON.parse(listed.stdout) as { dumps: { name: string; sha256: string }[]; archives: { name: string }[]; uploads: { outcome: string }[] };
    expect(body.dumps.map((d) => d.name)).toEqual((await listDumps(dir)).map((d) => d.name));
    expect(body.archives).toHaveLength(1);
    expect(body.uploads.map((u) => u.outcome)).toEqual(['accepted', 'accepted']);
  });
});

describe('several databases (a database per subgraph)', () => {
  it('dumps each database, the archive holds both, and a restore names the one it wants with --label', async () => {
    const second = await createTestDatabase('backup_second');
    const dir2 = await mkdtemp(join(tmpdir(), 'jt-backups-two-'));
    const env = { DATABASE_URL: source.url, BACKUP_DIR: dir2, BACKUP_URL: external.url };
    const both = new BackupService(parseConfig(env), source.db, logger, [source.url, second.url]);
    try {
      await second.sql`insert into users.users (name, email) values ('Second', 'second@example.com')`;
      const dumps = await both.dumpAll();
      expect(dumps.map((d) => dumpLabel(d.name))).toEqual([source.name, second.name]);
      expect((await listDumps(dir2)).map((d) => d.name).sort()).toEqual(dumps.map((d) => d.name).sort());
      const archive = await buildArchive({ dir: dir2, name: `${both.label}-2026-12-08.tar`, database: both.label, day: '2026-12-08', dumps });

      const target = newDatabase('second');
      await expect(restoreBackup({ file: archive.path, databaseUrl: target })).rejects.toThrow(/holds the dumps of 2 databases .*--label/);
      await expect(restoreBackup({ file: archive.path, databaseUrl: target, label: 'nowhere' })).rejects.toThrow(/holds no dump of nowhere/);
      const restored = await restoreBackup({ file: archive.path, databaseUrl: target, label: second.name });
      expect(restored.dump).toBe(dumps[1]!.name);
      expect(await digestsOf(target)).toEqual(await tableDigests(second.sql));
    } finally {
      both.close();
      await second.drop();
      await rm(dir2, { recursive: true, force: true });
    }
  });
});
