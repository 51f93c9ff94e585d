import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../scripts/settings.ts';
import { archiveName, ARCHIVES, dumpName, dumpTime, listDumps, newestDumpTime, prune, writeChecksum } from '../files.ts';
import { expectConfigRefuses } from '../../../test/support/config.ts';

const DAY = 86_400_000;
const now = new Date('2026-12-01T12:00:00.000Z');
let dir: string;

async function fakeDump(time: Date, { checksum = true } = {}): Promise<string> {
  const name = dumpName('junction', time);
  await writeFile(join(dir, name), `dump of ${time.toISOString()}`);
  if (checksum) await writeChecksum(join(dir, name), 'a'.repeat(64));
  return name;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jt-backup-files-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dump names', () => {
  it('carry the time pg_dump started, to the millisecond', () => {
    const time = new Date('2026-11-30T23:55:00.012Z');
    expect(dumpName('junction', time)).toBe('junction-2026-11-30T23-55-00-012Z.dump');
    expect(dumpTime(dumpName('junction', time))).toEqual(time);
    expect(dumpTime('junction-2026-11-30.tar')).toBeUndefined();
    expect(archiveName('junction', '2026-12-01')).toBe('junction-2026-12-01.tar');
  });

  it('are listed only with their checksum beside them', async () => {
    const complete = await fakeDump(new Date(now.getTime() - 60_000));
    await fakeDump(now, { checksum: false });
    expect((await listDumps(dir)).map((d) => d.name)).toEqual([complete]);
    expect(await newestDumpTime(dir)).toEqual(new Date(now.getTime() - 60_000));
  });
});

describe('prune', () => {
  it('keeps old dumps no accepted upload holds; deletes those it holds once older than the retention', async () => {
    const old = await fakeDump(new Date(now.getTime() - 9 * DAY));
    const older = await fakeDump(new Date(now.getTime() - 8 * DAY));
    const notUploaded = await fakeDump(new Date(now.getTime() - 7.5 * DAY));
    const recent = await fakeDump(new Date(now.getTime() - 2 * DAY));

    expect((await prune({ dir, retentionDays: 7, uploadedUpTo: null, now })).dumps).toEqual([]);
    expect((await listDumps(dir)).map((d) => d.name)).toEqual([old, older, notUploaded, recent]);

    // An accepted upload holds everything up to 8 days ago: those two go; the one after it stays, old as it is.
    const result = await prune({ dir, retentionDays: 7, uploadedUpTo: new Date(now.getTime() - 8 * DAY), now });
    expect(result.dumps.sort()).toEqual([old, older].sort());
    expect((await listDumps(dir)).map((d) => d.name)).toEqual([notUploaded, recent]);
    expect((await readdir(dir)).sort()).toEqual([notUploaded, `${notUploaded}.sha256`, recent, `${recent}.sha256`].sort());

    // Held by a later upload, within the retention: kept.
    expect((await prune({ dir, retentionDays: 7, uploadedUpTo: now, now })).dumps).toEqual([notUploaded]);
    expect((await listDumps(dir)).map((d) => d.name)).toEqual([recent]);
  });

  it('deletes archives older than the retention, and leftovers of killed dumps once stale', async () => {
    await mkdir(join(dir, ARCHIVES));
    for (const day of ['2026-11-20', '2026-11-25', '2026-12-01']) {
      await writeFile(join(dir, ARCHIVES, archiveName('junction', day)), 'tar');
      await writeChecksum(join(dir, ARCHIVES, archiveName('junction', day)), 'b'.repeat(64));
    }
    const stale = join(dir, '.junction-2026-12-01T10-00-00-000Z.dump.123.partial');
    const fresh = join(dir, '.junction-2026-12-01T11-59-00-000Z.dump.124.partial');
    const orphan = join(dir, 'junction-2026-12-01T09-00-00-000Z.dump.sha256');
    for (const file of [stale, fresh, orphan]) await writeFile(file, 'x');
    const longAgo = new Date(now.getTime() - 3600_000);
    await utimes(stale, longAgo, longAgo);
    await utimes(orphan, longAgo, longAgo);
    const freshTime = new Date(now.getTime() - 60_000);
    await utimes(fresh, freshTime, freshTime);

    const result = await prune({ dir, retentionDays: 7, uploadedUpTo: null, now });
    expect(result.archives).toEqual(['junction-2026-11-20.tar']);
    expect(result.leftovers.sort()).toEqual(['.junction-2026-12-01T10-00-00-000Z.dump.123.partial', 'junction-2026-12-01T09-00-00-000Z.dump.sha256'].sort());
    expect((await readdir(dir)).sort()).toEqual(['.junction-2026-12-01T11-59-00-000Z.dump.124.partial', ARCHIVES].sort());
    expect((await readdir(join(dir, ARCHIVES))).sort()).toEqual([
      'junction-2026-11-25.tar',
      'junction-2026-11-25.tar.sha256',
      'junction-2026-12-01.tar',
      'junction-2026-12-01.tar.sha256',
    ]);
  });
});

describe('backup settings', () => {
  it('have the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({ BACKUP_DIR: './backups', BACKUP_DUMP_EVERY_MS: 300000, BACKUP_UPLOAD_CRON: '0 0 * * *', BACKUP_RETENTION_DAYS: 7 });
  });

  it('take five-field and six-field (seconds first) cron patterns, and 0 to turn the schedules off', () => {
    expect(parseConfig({ BACKUP_UPLOAD_CRON: '*/10 * * * * *' }).BACKUP_UPLOAD_CRON).toBe('*/10 * * * * *');
    expect(parseConfig({ BACKUP_UPLOAD_CRON: '30 2 * * 1-5' }).BACKUP_UPLOAD_CRON).toBe('30 2 * * 1-5');
    expect(parseConfig({ BACKUP_DUMP_EVERY_MS: '0' }).BACKUP_DUMP_EVERY_MS).toBe(0);
  });

  it.each([
    ['BACKUP_UPLOAD_CRON', 'at midnight'],
    ['BACKUP_UPLOAD_CRON', '61 * * * *'],
    ['BACKUP_UPLOAD_CRON', ''],
    ['BACKUP_DUMP_EVERY_MS', '500'],
    ['BACKUP_DUMP_EVERY_MS', '-1'],
    ['BACKUP_RETENTION_DAYS', '0'],
    ['BACKUP_UPLOAD_RETRY_DELAYS_MS', '1000,,2000'],
  ])('refuse %s=%j with one line naming it', (variable, value) => {
    expectConfigRefuses(variable, value);
  });
});
