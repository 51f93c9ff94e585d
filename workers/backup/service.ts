import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { and, desc, eq, lt, max, sql } from 'drizzle-orm';
import got from 'got';
import { Breaker } from '../../common/breaker.ts';
import type { BackupProcessConfig as Config } from './settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { databaseName } from '../../common/databases.ts';
import { buildArchive } from './archive.ts';
import { uploads, type UploadOutcome, type UploadRow } from './db.ts';
import {
  archiveName,
  dumpName,
  ensureDir,
  listDumps,
  newestDumpTime,
  partialPath,
  prune,
  safeLabel,
  sha256File,
  utcDay,
  writeChecksum,
  type DumpFile,
  type PruneResult,
} from './files.ts';
import { backupFailures, type BackupFacts, type BackupKind } from './metrics.ts';
import { pgDump, redact } from './pg.ts';

export type BackupConfig = Pick<
  Config,
  | 'DATABASE_URL'
  | 'BACKUP_URL'
  | 'BACKUP_DIR'
  | 'BACKUP_RETENTION_DAYS'
  | 'BACKUP_UPLOAD_TIMEOUT_MS'
  | 'BREAKER_ERROR_THRESHOLD_PERCENT'
  | 'BREAKER_VOLUME_THRESHOLD'
  | 'BREAKER_RESET_TIMEOUT_MS'
  | 'BREAKER_MAX_RESET_TIMEOUT_MS'
>;

export interface UploadAttempt {
  day: string;
  name: string;
  /**
   * `accepted`, `slot-used` (429) and `rejected` are final for the day; `failed` (5xx,
   * timeout, refused connection, or no dump yet) is worth another try later that day;
   * `skipped`: the day's upload already happened (or its slot is used), nothing was sent.
   */
  result: 'accepted' | 'slot-used' | 'rejected' | 'failed' | 'skipped';
  outcome: UploadOutcome;
  status?: number;
  error?: string;
  /** Seconds the service asked to wait (Retry-After of a 429 or 503). */
  retryAfter?: number;
  dumps?: number;
  size?: number;
}

interface Answer {
  status: number;
  retryAfter?: number;
  body: string;
}

/** A 5xx from the backup service: a failure of the call (counted by the breaker), retried later that day. */
class ServerError extends Error {
  constructor(readonly answer: Answer) {
    super(`backup service answered ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ''}`);
  }
}

function retryAfterOf(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e?.code === 'EOPENBREAKER') return 'circuit breaker backup is open';
  return e?.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}

/** A database backed up, and the label its dumps are named with. */
export interface BackedUpDatabase {
  url: string;
  label: string;
}

/**
 * The labels of `urls`' dumps: each database's name (made safe for a file
 * name); a database whose name an earlier one already has (two clusters each
 * with a `junction`) has its host and port added.
 */
export function backupLabels(urls: readonly string[]): BackedUpDatabase[] {
  const names = urls.map((url) => databaseName(url));
  return urls.map((url, i) => {
    if (names.indexOf(names[i]!) === i) return { url, label: safeLabel(url) };
    const { hostname, port } = new URL(url);
    return { url, label: safeLabel(`postgres://x/${names[i]}_${hostname}_${port || '5432'}`) };
  });
}

/**
 * Dumps, archives, uploads and prunes; shared by the BullMQ jobs and
 * `npm run backup`. Every database given is dumped (each subgraph's, when
 * they have their own: common/databases.ts), each under its own label; the
 * day's archive holds the dumps of all of them. The ledger (backups.uploads) keeps one row per UTC day;
 * a day's upload runs inside a transaction holding that row's lock, so two
 * workers (or a worker and the command) never send twice.
 */
export class BackupService implements BackupFacts {
  readonly dir: string;
  /** The label of the first database (DATABASE_URL): the archive's name. */
  readonly label: string;
  /** Every database dumped, the first DATABASE_URL. */
  readonly databases: readonly BackedUpDatabase[];
  private readonly breaker: Breaker<[string, string, number], Answer>;

  constructor(
    private readonly config: BackupConfig,
    private readonly db: Database,
    private readonly logger: Logger,
    /** The databases to dump; default DATABASE_URL alone. The ledger stays in `db` (DATABASE_URL's). */
    databaseUrls: readonly string[] = [config.DATABASE_URL],
  ) {
    this.dir = config.BACKUP_DIR;
    this.databases = backupLabels(databaseUrls.length > 0 ? databaseUrls : [config.DATABASE_URL]);
    this.label = this.databases[0]!.label;
    const base = config.BACKUP_URL.replace(/\/+$/, '');
    this.breaker = new Breaker(
      // One attempt per call, no retries inside it: a retry is a later attempt of the upload job.
      async (signal, name, path, size) => {
        const response = await got.put(`${base}/backups/${encodeURIComponent(name)}`, {
          body: createReadStream(path),
          headers: { 'content-type': 'application/x-tar', 'content-length': String(size) },
          timeout: { request: config.BACKUP_UPLOAD_TIMEOUT_MS },
          retry: { limit: 0 },
          throwHttpErrors: false,
          signal,
        });
        const answer = { status: response.statusCode, retryAfter: retryAfterOf(response.headers['retry-after']), body: response.body };
        if (answer.status >= 500) throw new ServerError(answer);
        return answer;
      },
      { name: 'backup', config, logger, timeoutMs: config.BACKUP_UPLOAD_TIMEOUT_MS + 1000 },
    );
  }

  /** One dump of every database (in turn), each with its prune; the first failure fails the whole. */
  async dumpAll(signal?: AbortSignal): Promise<DumpFile[]> {
    const dumps: DumpFile[] = [];
    for (const database of this.databases) dumps.push(await this.dump(signal, database));
    return dumps;
  }

  /** One `pg_dump -Fc` of one database (default the first) into BACKUP_DIR (temporary name, checksum, then rename), then a prune. */
  async dump(signal?: AbortSignal, database: BackedUpDatabase = this.databases[0]!): Promise<DumpFile> {
    const time = new Date();
    const name = dumpName(database.label, time);
    const path = join(this.dir, name);
    const temporary = partialPath(path);
    await ensureDir(this.dir);
    try {
      await pgDump(database.url, temporary, signal);
      const sha256 = await sha256File(temporary);
      const { size } = await stat(temporary);
      await writeChecksum(path, sha256);
      await rename(temporary, path);
      this.logger.info({ dump: name, database: redact(database.url), size, sha256 }, 'backup dump written');
      await this.prune().catch((error) => this.logger.warn({ err: error }, 'backup prune failed'));
      return { name, path, size, sha256, time };
    } catch (error) {
      backupFailures.inc({ kind: 'dump' });
      await rm(temporary, { force: true }).catch(() => {});
      this.logger.error({ err: error, database: redact(database.url) }, 'backup dump failed');
      throw error;
    }
  }

  /** The time of the newest dump an accepted upload holds; null when nothing was ever accepted. */
  async uploadedUpTo(): Promise<Date | null> {
    const [row] = await this.db
      .select({ at: max(uploads.coversTo) })
      .from(uploads)
      .where(eq(uploads.outcome, 'accepted'));
    return row?.at ?? null;
  }

  async prune(now = new Date()): Promise<PruneResult> {
    const result = await prune({ dir: this.dir, retentionDays: this.config.BACKUP_RETENTION_DAYS, uploadedUpTo: await this.uploadedUpTo(), now });
    if (result.dumps.length + result.archives.length + result.leftovers.length > 0) this.logger.info(result, 'backups pruned');
    return result;
  }

  /**
   * The upload of UTC day `day`: unless that day's upload was already accepted
   * (or its slot used), an archive of every dump not yet held by an accepted
   * upload is sent with `PUT ${BACKUP_URL}/backups/<name>`, and the outcome
   * recorded. `force` sends even when the day's upload already happened.
   */
  async upload({ day = utcDay(new Date()), force = false }: { day?: string; force?: boolean } = {}): Promise<UploadAttempt> {
    const name = archiveName(this.label, day);
    const attempt: UploadAttempt = await this.db.transaction(async (tx): Promise<UploadAttempt> => {
      await tx.insert(uploads).values({ day, name }).onConflictDoNothing();
      const [row] = await tx.select().from(uploads).where(eq(uploads.day, day)).for('update');
      if (!row) throw new Error(`ledger row for ${day} vanished`);
      if (!force && (row.outcome === 'accepted' || row.outcome === 'slot-used'))
        return { day, name: row.name, result: 'skipped', outcome: row.outcome } satisfies UploadAttempt;
      const [held] = await tx
        .select({ at: max(uploads.coversTo) })
        .from(uploads)
        .where(and(eq(uploads.outcome, 'accepted'), lt(uploads.day, day)));
      const since = held?.at ?? null;
      const dumps = (await listDumps(this.dir)).filter((d) => !since || d.time > since);
      const record = async (outcome: UploadOutcome, values: Partial<UploadRow>) => {
        // An accepted upload stays accepted, also when a forced one after it fails.
        const kept = row.outcome === 'accepted' && outcome !== 'accepted' ? 'accepted' : outcome;
        await tx
          .update(uploads)
          .set({ ...values, name, outcome: kept, attempts: sql`${uploads.attempts} + 1`, updatedAt: new Date() })
          .where(eq(uploads.day, day));
        return kept;
      };
      if (dumps.length === 0) {
        const error = since ? `no dump since the last accepted upload (${since.toISOString()})` : `no dump in ${this.dir}`;
        const outcome = await record('pending', { lastStatus: null, lastError: error });
        return { day, name, result: 'failed', outcome, error } satisfies UploadAttempt;
      }
      const archive = await buildArchive({ dir: this.dir, name, database: this.label, day, dumps });
      const sent = { dumps: dumps.length, size: archive.size };
      try {
        const answer = await this.breaker.fire(name, archive.path, archive.size);
        if (answer.status >= 200 && answer.status < 300) {
          const outcome = await record('accepted', {
            lastStatus: answer.status,
            lastError: null,
            coversTo: dumps.at(-1)!.time,
            dumps: dumps.length,
            size: archive.size,
            sha256: archive.sha256,
          });
          return { day, name, result: 'accepted', outcome, status: answer.status, ...sent } satisfies UploadAttempt;
        }
        const error = `backup service answered ${answer.status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ''}`;
        if (answer.status === 429) {
          const outcome = await record('slot-used', { lastStatus: 429, lastError: error });
          return { day, name, result: 'slot-used', outcome, status: 429, error, retryAfter: answer.retryAfter, ...sent } satisfies UploadAttempt;
        }
        const outcome = await record('rejected', { lastStatus: answer.status, lastError: error });
        return { day, name, result: 'rejected', outcome, status: answer.status, error, ...sent } satisfies UploadAttempt;
      } catch (error) {
        const status = error instanceof ServerError ? error.answer.status : undefined;
        const outcome = await record('pending', { lastStatus: status ?? null, lastError: describe(error) });
        return {
          day,
          name,
          result: 'failed',
          outcome,
          status,
          error: describe(error),
          retryAfter: error instanceof ServerError ? error.answer.retryAfter : undefined,
          ...sent,
        } satisfies UploadAttempt;
      }
    });
    const log = { upload: attempt.name, day, result: attempt.result, status: attempt.status, error: attempt.error, dumps: attempt.dumps, size: attempt.size };
    if (attempt.result === 'accepted') {
      this.logger.info(log, 'backup uploaded');
      await this.prune().catch((error) => this.logger.warn({ err: error }, 'backup prune failed'));
    } else if (attempt.result === 'skipped') this.logger.info(log, 'backup upload skipped: the day is done');
    else {
      if (attempt.result !== 'slot-used') backupFailures.inc({ kind: 'upload' });
      this.logger[attempt.result === 'slot-used' ? 'warn' : 'error'](log, `backup upload ${attempt.result}`);
    }
    return attempt;
  }

  /** The ledger, newest day first. */
  async uploads(limit = 31): Promise<UploadRow[]> {
    return this.db.select().from(uploads).orderBy(desc(uploads.day)).limit(limit);
  }

  async lastSuccess(): Promise<Partial<Record<BackupKind, Date>>> {
    const dump = await newestDumpTime(this.dir).catch(() => undefined);
    // PostgreSQL down: the upload time is left out rather than failing the scrape.
    const upload = await this.db
      .select({ at: max(uploads.updatedAt) })
      .from(uploads)
      .where(eq(uploads.outcome, 'accepted'))
      .then(
        ([row]) => row?.at ?? undefined,
        () => undefined,
      );
    return { ...(dump ? { dump } : {}), ...(upload ? { upload } : {}) };
  }

  close(): void {
    this.breaker.shutdown();
  }
}
