import { counter, gauge } from '../../common/metrics.ts';

export const BACKUP_KINDS = ['dump', 'upload'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** Reads the time of the last good dump and upload, each time /metrics is scraped. */
export interface BackupFacts {
  lastSuccess(): Promise<Partial<Record<BackupKind, Date>>>;
}

// Every backup service of this process (tests may run several), read at each scrape.
const sources = new Set<BackupFacts>();

gauge({
  name: 'junction_backup_last_success_timestamp_seconds',
  help: 'When the newest complete dump was made (kind="dump", from BACKUP_DIR) and the last upload was accepted (kind="upload", from the ledger); absent when none yet.',
  labelNames: ['kind'],
  async collect() {
    this.reset();
    const newest: Partial<Record<BackupKind, number>> = {};
    for (const source of sources) {
      try {
        const last = await source.lastSuccess();
        for (const kind of BACKUP_KINDS) {
          const time = last[kind];
          if (time) newest[kind] = Math.max(newest[kind] ?? 0, time.getTime() / 1000);
        }
      } catch {
        // PostgreSQL is down: the upload time is left out of this scrape rather than failing it.
      }
    }
    for (const kind of BACKUP_KINDS) if (newest[kind] !== undefined) this.set({ kind }, newest[kind]);
  },
});

/** Failed attempts: a dump pg_dump could not finish, an upload the service did not accept (5xx, timeout, refused, rejected). */
export const backupFailures = counter({
  name: 'junction_backup_failures_total',
  help: 'Failed backup attempts by kind: dump (pg_dump failed) or upload (5xx, timeout, connection refused, or a rejection).',
  labelNames: ['kind'],
});
for (const kind of BACKUP_KINDS) backupFailures.inc({ kind }, 0);

export function watchBackups(source: BackupFacts): () => void {
  sources.add(source);
  return () => sources.delete(source);
}
