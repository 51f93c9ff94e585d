import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { finished } from 'node:stream/promises';
import * as tar from 'tar';
import { z } from 'zod';
import { ARCHIVES, dumpLabel, ensureDir, partialPath, sha256File, writeChecksum, type DumpFile } from './files.ts';

/**
 * An archive is a tar of `manifest.json` (first) and the dumps it lists, flat.
 * The manifest names each dump with its size, sha256 and time, so a copy
 * fetched back from the backup service can be checked without anything else.
 */
export const MANIFEST = 'manifest.json';
export const ARCHIVE_FORMAT = 'junction-backup-archive/1';

const manifestSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  database: z.string(),
  day: z.string(),
  createdAt: z.string(),
  dumps: z
    .array(
      z.object({
        name: z.string().regex(/^[A-Za-z0-9._-]+\.dump$/),
        size: z.number().int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        time: z.string(),
      }),
    )
    .min(1),
});

export type Manifest = z.infer<typeof manifestSchema>;

export class BadBackupError extends Error {
  override name = 'BadBackupError';
}

export interface BuiltArchive {
  name: string;
  path: string;
  size: number;
  sha256: string;
  manifest: Manifest;
}

/** Builds `archives/<name>` in `dir` from `dumps` (temporary name, then renamed), with its checksum beside it. */
export async function buildArchive({
  dir,
  name,
  database,
  day,
  dumps,
}: {
  dir: string;
  name: string;
  database: string;
  day: string;
  dumps: readonly DumpFile[];
}): Promise<BuiltArchive> {
  if (dumps.length === 0) throw new Error('no dumps to archive');
  const folder = join(dir, ARCHIVES);
  await ensureDir(folder);
  const manifest: Manifest = {
    format: ARCHIVE_FORMAT,
    database,
    day,
    createdAt: new Date().toISOString(),
    dumps: dumps.map((d) => ({ name: d.name, size: d.size, sha256: d.sha256, time: d.time.toISOString() })),
  };
  const target = join(folder, name);
  // Hard links put the manifest and the dumps in one folder for tar without copying them.
  const staging = partialPath(join(folder, `${name}.staging`));
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const dump of dumps) await link(dump.path, join(staging, dump.name));
    const temporary = partialPath(target);
    await tar.create({ file: temporary, cwd: staging, portable: true }, [MANIFEST, ...dumps.map((d) => d.name)]);
    const sha256 = await sha256File(temporary);
    const { size } = await stat(temporary);
    await writeChecksum(target, sha256);
    await rename(temporary, target);
    return { name, path: target, size, sha256, manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface ExtractedDump {
  manifest: Manifest;
  /** The newest dump of the archive, written to `into`. */
  dump: Manifest['dumps'][number];
  path: string;
}

/**
 * Reads an archive in one pass: checks its structure, the manifest, and every
 * dump against the manifest's size and sha256, and writes the newest dump into
 * the folder `into`: the newest of database `label` (a dump's name before its
 * time), which may be left out when the archive holds one database's dumps.
 * Throws BadBackupError (one line) on any mismatch.
 */
export async function extractNewestDump(file: string, into: string, label?: string): Promise<ExtractedDump> {
  let manifest: Manifest | undefined;
  let newest: Manifest['dumps'][number] | undefined;
  const seen = new Map<string, { size: number; sha256: string }>();
  let problem: string | undefined;
  let choice: string | undefined;
  const writes: Promise<unknown>[] = [];
  const where = basename(file);
  try {
    await tar.list({
      file,
      strict: true,
      onReadEntry(entry) {
        const name = entry.path;
        if (problem) return void entry.resume();
        if (entry.type !== 'File' || name.includes('/') || name.startsWith('.')) {
          problem = `unexpected entry "${name}"`;
          return void entry.resume();
        }
        if (!manifest) {
          if (name !== MANIFEST) {
            problem = `${MANIFEST} is not its first entry`;
            return void entry.resume();
          }
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => {
            try {
              manifest = manifestSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
              const labels = [...new Set(manifest.dumps.map((d) => dumpLabel(d.name)))];
              const candidates = manifest.dumps.filter((d) => (label ?? labels[0]) === dumpLabel(d.name));
              if (label === undefined && labels.length > 1)
                choice = `${where} holds the dumps of ${labels.length} databases (${labels.join(', ')}): name the one to restore with --label`;
              else if (candidates.length === 0) choice = `${where} holds no dump of ${label} (it holds ${labels.join(', ')})`;
              else newest = [...candidates].sort((a, b) => a.time.localeCompare(b.time) || a.name.localeCompare(b.name)).at(-1);
            } catch {
              problem = `${MANIFEST} is not a valid manifest`;
            }
          });
          return;
        }
        const hash = createHash('sha256');
        let size = 0;
        entry.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.length;
        });
        if (name === newest?.name) {
          const out = createWriteStream(join(into, name));
          entry.pipe(out);
          writes.push(finished(out));
        }
        entry.on('end', () => seen.set(name, { size, sha256: hash.digest('hex') }));
      },
    });
    await Promise.all(writes);
  } catch (error) {
    throw new BadBackupError(`${where} is not a readable archive (${(error as Error).message})`);
  }
  if (problem) throw new BadBackupError(`${where} is not a valid archive: ${problem}`);
  if (!manifest) throw new BadBackupError(`${where} is not a valid archive: no ${MANIFEST}`);
  for (const dump of manifest.dumps) {
    const got = seen.get(dump.name);
    if (!got) throw new BadBackupError(`${where}: ${dump.name} is listed in the manifest but missing`);
    if (got.size !== dump.size || got.sha256 !== dump.sha256)
      throw new BadBackupError(`${where}: checksum mismatch for ${dump.name} (manifest ${dump.sha256.slice(0, 12)}…, content ${got.sha256.slice(0, 12)}…)`);
  }
  const extra = [...seen.keys()].filter((name) => !manifest!.dumps.some((d) => d.name === name));
  if (extra.length > 0) throw new BadBackupError(`${where}: ${extra[0]} is not listed in the manifest`);
  if (choice || !newest) throw new BadBackupError(choice ?? `${where} is not a valid archive: no dump`);
  return { manifest, dump: newest, path: join(into, newest.name) };
}
