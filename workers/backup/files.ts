import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The layout of BACKUP_DIR:
 * - `<db>-<stamp>.dump`: a complete `pg_dump -Fc`, with `<db>-<stamp>.dump.sha256` beside it
 *   (the `sha256sum` format, so `sha256sum -c` checks it);
 * - `.<name>.partial`: a dump being written; never listed, removed once stale;
 * - `archives/<db>-<day>.tar`: the archive built for a day's upload, with its `.sha256`.
 * A dump is listed only once it and its checksum are both complete: the checksum is
 * written first (under a temporary name, then renamed), the dump renamed last.
 */

const STAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;
const DUMP = /^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)\.dump$/;
const ARCHIVE = /^(.+)-(\d{4}-\d{2}-\d{2})\.tar$/;
export const PARTIAL_SUFFIX = '.partial';
export const ARCHIVES = 'archives';

export interface DumpFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
  /** When pg_dump started (from the name). */
  time: Date;
}

export interface ArchiveFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
  /** The UTC day of the upload it was built for. */
  day: string;
}

/** The UTC day of `time`, YYYY-MM-DD. */
export function utcDay(time: Date | number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** A database name fit for a file name and for the backup service (letters, digits, . _ -). */
export function safeLabel(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres';
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

export function dumpName(label: string, time: Date): string {
  return `${label}-${time.toISOString().replace(/[:.]/g, '-')}.dump`;
}

export function archiveName(label: string, day: string): string {
  return `${label}-${day}.tar`;
}

/** The label of the database a dump is of (its name before the time), or undefined for a name that is not a dump's. */
export function dumpLabel(name: string): string | undefined {
  return DUMP.exec(name)?.[1];
}

/** The start time encoded in a dump's name, or undefined for a name that is not a dump's. */
export function dumpTime(name: string): Date | undefined {
  const stamp = DUMP.exec(name)?.[2];
  const parts = stamp ? STAMP.exec(stamp) : null;
  if (!parts) return undefined;
  const time = new Date(`${parts[1]}T${parts[2]}:${parts[3]}:${parts[4]}.${parts[5]}Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** The checksum file beside `path`, in `sha256sum` format. */
export const checksumPath = (path: string) => `${path}.sha256`;

/** Reads `<path>.sha256`; undefined when it is missing or unreadable as a checksum. */
export async function readChecksum(path: string): Promise<string | undefined> {
  try {
    const hex = (await readFile(checksumPath(path), 'utf8')).trim().split(/\s+/)[0]?.toLowerCase();
    return hex && /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `<path>.sha256` atomically (temporary name, then rename). */
export async function writeChecksum(path: string, sha256: string): Promise<void> {
  const target = checksumPath(path);
  const temporary = join(dirname(target), `.${basename(target)}${PARTIAL_SUFFIX}`);
  await writeFile(temporary, `${sha256}  ${basename(path)}\n`, { flush: true });
  await rename(temporary, target);
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Complete dumps (dump and checksum both there), oldest first. */
export async function listDumps(dir: string): Promise<DumpFile[]> {
  const names = await entries(dir);
  const present = new Set(names);
  const dumps: DumpFile[] = [];
  for (const name of names) {
    const time = dumpTime(name);
    if (!time || !present.has(`${name}.sha256`)) continue;
    const path = join(dir, name);
    const sha256 = await readChecksum(path);
    const info = await stat(path).catch(() => undefined);
    if (!sha256 || !info?.isFile()) continue;
    dumps.push({ name, path, size: info.size, sha256, time });
  }
  return dumps.sort((a, b) => a.time.getTime() - b.time.getTime() || a.name.localeCompare(b.name));
}

/** The time of the newest complete dump, from the names alone (cheap enough for every /metrics scrape). */
export async function newestDumpTime(dir: string): Promise<Date | undefined> {
  const names = await entries(dir);
  const present = new Set(names);
  let newest: Date | undefined;
  for (const name of names) {
    const time = present.has(`${name}.sha256`) ? dumpTime(name) : undefined;
    if (time && (!newest || time > newest)) newest = time;
  }
  return newest;
}

/** Archives built for uploads, oldest day first. */
export async function listArchives(dir: string): Promise<ArchiveFile[]> {
  const folder = join(dir, ARCHIVES);
  const archives: ArchiveFile[] = [];
  for (const name of await entries(folder)) {
    const day = ARCHIVE.exec(name)?.[2];
    if (!day) continue;
    const path = join(folder, name);
    const sha256 = await readChecksum(path);
    const info = await stat(path).catch(() => undefined);
    if (!sha256 || !info?.isFile()) continue;
    archives.push({ name, path, size: info.size, sha256, day });
  }
  return archives.sort((a, b) => a.day.localeCompare(b.day));
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** A temporary path in the same folder as `target` (so the final rename is atomic). */
export function partialPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}${PARTIAL_SUFFIX}`);
}

export interface PruneOptions {
  dir: string;
  retentionDays: number;
  /** Dumps up to this time are held by an accepted upload; newer ones are kept whatever their age. */
  uploadedUpTo: Date | null;
  now?: Date;
  /** A temporary file not written to for this long belongs to a dump or archive that died. Default 15 min. */
  staleMs?: number;
}

export interface PruneResult {
  dumps: string[];
  archives: string[];
  leftovers: string[];
}

/**
 * Deletes dumps older than `retentionDays` that an accepted upload holds,
 * archives older than `retentionDays`, stale temporary files and checksums
 * whose file is gone.
 */
export async function prune({ dir, retentionDays, uploadedUpTo, now = new Date(), staleMs = 15 * 60_000 }: PruneOptions): Promise<PruneResult> {
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const result: PruneResult = { dumps: [], archives: [], leftovers: [] };
  for (const dump of await listDumps(dir)) {
    if (dump.time.getTime() >= cutoff || !uploadedUpTo || dump.time > uploadedUpTo) continue;
    await rm(dump.path, { force: true });
    await rm(checksumPath(dump.path), { force: true });
    result.dumps.push(dump.name);
  }
  const cutoffDay = utcDay(cutoff);
  for (const archive of await listArchives(dir)) {
    if (archive.day >= cutoffDay) continue;
    await rm(archive.path, { force: true });
    await rm(checksumPath(archive.path), { force: true });
    result.archives.push(archive.name);
  }
  for (const folder of [dir, join(dir, ARCHIVES)]) {
    const names = await entries(folder);
    const present = new Set(names);
    for (const name of names) {
      const path = join(folder, name);
      const orphanChecksum = name.endsWith('.sha256') && !present.has(name.slice(0, -'.sha256'.length));
      const partial = name.endsWith(PARTIAL_SUFFIX);
      if (!orphanChecksum && !partial) continue;
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile() || now.getTime() - info.mtimeMs < staleMs) continue;
      await rm(path, { force: true });
      result.leftovers.push(name);
    }
  }
  return result;
}
