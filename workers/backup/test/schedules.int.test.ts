import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../common/auth.ts';
import { parseConfig } from '../../../scripts/settings.ts';
import { listen } from '../../../common/http.ts';
import { createLogger } from '../../../common/logger.ts';
import { backupsQueue } from '../queue.ts';
import { closeRedis, createRedis } from '../../../common/redis.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { startTestIdentity } from '../../../test/support/identity.ts';
import { dropQueues, freePort } from '../../../test/support/orders.ts';
import { startScriptedPartner, type ScriptedPartner } from '../../../test/support/partner-server.ts';
import { uploads } from '../db.ts';
import { listDumps, prune, sha256File, utcDay, PARTIAL_SUFFIX } from '../files.ts';
import { createWorkersApp } from '../../http.ts';
import { pgRestoreList } from '../pg.ts';
import { BACKUP_JOBS, startBackups, type Backups } from '../index.ts';
import { BackupService } from '../service.ts';
import { sample, scrape } from '../../../test/support/metrics.ts';
import { eventually } from '../../../test/support/wait.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('backup', 'silent');
/** A cron pattern that does not come round during the test. */
const NEVER = '0 0 0 1 1 *';

let db: TestDatabase;
let partner: ScriptedPartner;
const prefixes: string[] = [];
const dirs: string[] = [];
const running: { backups: Backups; close(): Promise<void> }[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jt-backup-sched-'));
  dirs.push(dir);
  return dir;
}

function prefix(label: string): string {
  const p = `jt-backup-${label}-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
}

function env(overrides: Record<string, string>) {
  return {
    DATABASE_URL: db.url,
    REDIS_URL,
    BACKUP_URL: partner.url,
    BACKUP_UPLOAD_CRON: NEVER,
    BACKUP_DUMP_EVERY_MS: '600000',
    BACKUP_UPLOAD_TIMEOUT_MS: '2000',
    BACKUP_UPLOAD_RETRY_DELAYS_MS: '300',
    WORKER_LOCK_MS: '1000',
    ...overrides,
  };
}

/** One workers instance's backup schedules, on its own Redis connection. */
function instance(settings: Record<string, string>) {
  const connection = createRedis(REDIS_URL, { role: 'worker', name: 'backup-test' });
  const backups = startBackups({ config: parseConfig(env(settings)), db: db.db, connection, logger });
  const handle = {
    backups,
    async close() {
      await backups.close();
      await closeRedis(connection);
    },
  };
  running.push(handle);
  return handle;
}

const ledger = () => db.db.select().from(uploads);

beforeAll(async () => {
  db = await createTestDatabase('backup_schedules');
  partner = await startScriptedPartner();
});

afterAll(async () => {
  for (const handle of running) await handle.close().catch(() => {});
  await partner?.close();
  for (const p of prefixes) await dropQueues(REDIS_URL, p);
  await db?.drop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('backup schedules', () => {
  it('make one dump per interval with two workers instances', async () => {
    const dir = await tempDir();
    const settings = { QUEUE_PREFIX: prefix('two'), BACKUP_DIR: dir, BACKUP_DUMP_EVERY_MS: '1500' };
    const started = Date.now();
    const a = instance(settings);
    const b = instance(settings);
    await Promise.all([a.backups.scheduled, b.backups.scheduled]);
    // Time passes on purpose: four intervals with both instances running the schedule.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await Promise.all([a.close(), b.close()]);
    const elapsed = Date.now() - started;

    const dumps = await listDumps(dir);
    // Slots of 1.5 s in the window (plus the one at start): two instances each dumping would make twice as many.
    const slots = Math.ceil(elapsed / 1500) + 1;
    expect(dumps.length).toBeGreaterThanOrEqual(2);
    expect(dumps.length).toBeLessThanOrEqual(slots);
    // Each dump came from its own scheduler slot: the completed jobs match the files one to one.
    const queue = new Queue(backupsQueue.name, { connection: createRedis(REDIS_URL, { role: 'worker' }), prefix: settings.QUEUE_PREFIX });
    const completed = (await queue.getJobs(['completed'])).filter((job) => job.name === BACKUP_JOBS.dump);
    await queue.close();
    await closeRedis(queue.opts.connection as ReturnType<typeof createRedis>);
    expect(completed.map((job) => (job.returnvalue as { name: string }).name).sort()).toEqual(dumps.map((d) => d.name).sort());
    expect(new Set(completed.map((job) => job.id)).size).toBe(completed.length);
  });

  it('leave no half-written dump in the list when the worker is killed mid-dump; the job runs again', async () => {
    const dir = await tempDir();
    const settings = { QUEUE_PREFIX: prefix('kill'), BACKUP_DIR: dir };
    // pg_dump waits for this lock, so the worker is certainly mid-dump when it dies.
    const locker = await db.sql.reserve();
    await locker`begin`;
    await locker`lock table users.users in access exclusive mode`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/backup/main.ts'], {
      env: { ...process.env, ...env(settings), LOG_LEVEL: 'silent' },
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(
        async () => {
          const rows = await db.sql`select 1 from pg_stat_activity where datname = ${db.name} and application_name = 'pg_dump' and wait_event_type = 'Lock'`;
          return rows.length > 0;
        },
        30_000,
        'pg_dump waiting on the lock',
      );
      expect((await readdir(dir)).filter((name) => name.endsWith(PARTIAL_SUFFIX))).toHaveLength(1);
      // The worker and its pg_dump die together, as in a container that is killed.
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    } finally {
      await locker`commit`;
      locker.release();
    }
    expect(await listDumps(dir)).toEqual([]);
    const leftovers = await readdir(dir);
    expect(leftovers.every((name) => name.startsWith('.') && name.endsWith(PARTIAL_SUFFIX))).toBe(true);

    // Another worker takes the job over once its lock lapses, and finishes the dump.
    const other = instance(settings);
    const [dump] = await eventually(async () => (await listDumps(dir)).at(0) && listDumps(dir), 15_000, 'the dump the killed worker began');
    await other.close();
    expect(await sha256File(dump!.path)).toBe(dump!.sha256);
    expect(await pgRestoreList(dump!.path)).toContain('TABLE DATA users users');
    // The dead worker's temporary file is not a dump, and prune removes it once stale.
    const pruned = await prune({ dir, retentionDays: 7, uploadedUpTo: null, staleMs: 0 });
    expect(pruned.leftovers).toEqual(leftovers);
    expect(pruned.dumps).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([dump!.name, `${dump!.name}.sha256`].sort());
  });

  it('upload once a day: a 503, then accepted; later runs that day send nothing', async () => {
    await db.db.delete(uploads);
    partner.calls.length = 0;
    partner.script({ status: 503, json: { error: 'busy' } }, { status: 201, json: { ok: true } });
    partner.answer({ status: 429, headers: { 'retry-after': '3600' }, json: { error: 'one a day' } });
    const dir = await tempDir();
    const settings = { QUEUE_PREFIX: prefix('upload'), BACKUP_DIR: dir, BACKUP_UPLOAD_CRON: '*/2 * * * * *' };
    await new BackupService(parseConfig(env(settings)), db.db, logger).dump();
    const a = instance(settings);
    const b = instance(settings);
    const [row] = await eventually(async () => (await ledger()).find((r) => r.outcome === 'accepted') && ledger(), 15_000, 'an accepted upload');
    // Two more cron ticks (every 2 s) come and go without a request (time passes on purpose).
    await new Promise((resolve) => setTimeout(resolve, 4500));
    const status = await a.backups.status();
    await Promise.all([a.close(), b.close()]);

    expect(partner.calls.map((call) => `${call.method} ${call.path}`)).toEqual([`PUT /backups/${row!.name}`, `PUT /backups/${row!.name}`]);
    expect(partner.calls[1]!.headers['content-type']).toBe('application/x-tar');
    expect(await ledger()).toEqual([
      expect.objectContaining({ day: utcDay(new Date()), outcome: 'accepted', attempts: 2, lastStatus: 201, lastError: null, dumps: expect.any(Number) }),
    ]);
    const uploadsSeen = status.uploads.map((u) => ({ day: u.day, outcome: u.outcome }));
    expect(uploadsSeen).toEqual([{ day: utcDay(new Date()), outcome: 'accepted' }]);
    const queue = new Queue(backupsQueue.name, { connection: createRedis(REDIS_URL, { role: 'worker' }), prefix: settings.QUEUE_PREFIX });
    const runs = (await queue.getJobs(['completed']))
      .filter((job) => job.name === BACKUP_JOBS.upload)
      .map((job) => (job.returnvalue as { result: string }).result);
    await queue.close();
    await closeRedis(queue.opts.connection as ReturnType<typeof createRedis>);
    expect(runs.filter((r) => r === 'accepted')).toHaveLength(1);
    expect(runs.filter((r) => r === 'skipped').length).toBeGreaterThanOrEqual(1);
    expect(runs.every((r) => r === 'accepted' || r === 'skipped')).toBe(true);
  });

  it('a 429 marks the day used (recorded so), and nothing more is sent that day', async () => {
    await db.db.delete(uploads);
    partner.calls.length = 0;
    partner.script({ status: 429, headers: { 'retry-after': '120' }, json: { error: 'one a day' } });
    const dir = await tempDir();
    const service = new BackupService(parseConfig(env({ BACKUP_DIR: dir })), db.db, logger);
    await service.dump();
    expect(await service.upload()).toMatchObject({ result: 'slot-used', outcome: 'slot-used', status: 429, retryAfter: 120 });
    expect(await service.upload()).toMatchObject({ result: 'skipped', outcome: 'slot-used' });
    expect(partner.calls).toHaveLength(1);
    expect(await ledger()).toEqual([expect.objectContaining({ outcome: 'slot-used', attempts: 1, lastStatus: 429 })]);
    service.close();
  });

  it('a timeout or a refused connection is a failure to retry later that day; two uploads at once send once', async () => {
    await db.db.delete(uploads);
    partner.calls.length = 0;
    const dir = await tempDir();
    const service = new BackupService(parseConfig(env({ BACKUP_DIR: dir, BACKUP_UPLOAD_TIMEOUT_MS: '300' })), db.db, logger);
    await service.dump();
    partner.script('hang');
    const timedOut = await service.upload();
    expect(timedOut).toMatchObject({ result: 'failed', outcome: 'pending' });
    expect(timedOut.error).toMatch(/timeout|timed out|gave up/i);

    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = new BackupService(parseConfig(env({ BACKUP_DIR: dir, BACKUP_URL: closed })), db.db, logger);
    expect(await refused.upload()).toMatchObject({ result: 'failed', outcome: 'pending', error: expect.stringMatching(/ECONNREFUSED/) });
    refused.close();
    expect(await ledger()).toEqual([expect.objectContaining({ outcome: 'pending', attempts: 2, lastStatus: null })]);

    partner.calls.length = 0;
    partner.answer({ status: 201, json: {}, delayMs: 300 });
    // Two workers (timeouts well above the answer's delay) upload at the same moment: one sends, the other waits for it and skips.
    const one = new BackupService(parseConfig(env({ BACKUP_DIR: dir })), db.db, logger);
    const two = new BackupService(parseConfig(env({ BACKUP_DIR: dir })), db.db, logger);
    const both = await Promise.all([one.upload(), two.upload()]);
    expect(both.map((a) => a.result).sort()).toEqual(['accepted', 'skipped']);
    expect(partner.calls).toHaveLength(1);
    service.close();
    one.close();
    two.close();
  });

  it('GET /admin/backups (admin token only) shows dumps, uploads and the next runs; /metrics the last good dump and upload and failures', async () => {
    const idp = await startTestIdentity();
    const dir = await tempDir();
    const handle = instance({ QUEUE_PREFIX: prefix('status'), BACKUP_DIR: dir, BACKUP_DUMP_EVERY_MS: '600000', BACKUP_UPLOAD_CRON: '0 30 2 * * *' });
    await handle.backups.scheduled;
    await expect.poll(async () => (await listDumps(dir)).length, { timeout: 15_000, message: 'the first dump' }).toBeGreaterThan(0);
    const auth = createAuthenticator({ ...idp.env, AUTH_USER_CLAIM: 'sub', AUTH_ROLES_CLAIM: 'roles' });
    const web = createWorkersApp({ queues: [handle.backups.queue], logger, auth, backups: handle.backups });
    const http = await listen(web.app, 0);
    try {
      expect((await fetch(`${http.url}/admin/backups`)).status).toBe(401);
      expect((await fetch(`${http.url}/admin/backups`, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
      expect((await fetch(`${http.url}/admin/backups`, { headers: await idp.headers(randomUUID()) })).status).toBe(403);
      const response = await fetch(`${http.url}/admin/backups`, { headers: await idp.headers(randomUUID(), ['admin']) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Awaited<ReturnType<Backups['status']>>;
      const [dump] = await listDumps(dir);
      expect(body.dumps).toEqual([{ name: dump!.name, size: dump!.size, sha256: dump!.sha256, time: dump!.time.toISOString() }]);
      expect(body.uploads).toEqual([expect.objectContaining({ day: utcDay(new Date()), outcome: 'accepted' })]);
      const schedules = Object.fromEntries(body.schedules.map((s) => [s.job, s]));
      expect(schedules.dump).toMatchObject({ every: 600000 });
      expect(Date.parse(schedules.dump!.next!)).toBeGreaterThan(Date.now());
      expect(schedules.upload).toMatchObject({ pattern: '0 30 2 * * *', tz: 'UTC' });
      expect(new Date(schedules.upload!.next!).toISOString()).toMatch(/T02:30:00\.000Z$/);

      const metrics = await scrape(http.url);
      const last = (kind: string) => sample(metrics, 'junction_backup_last_success_timestamp_seconds', { kind });
      expect(last('dump')).toBeGreaterThanOrEqual(Math.floor(dump!.time.getTime() / 1000));
      expect(last('upload')).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(sample(metrics, 'junction_backup_failures_total', { kind: 'upload' })).toBeGreaterThanOrEqual(3);
      expect(metrics).toMatch(/junction_backup_failures_total\{kind="dump"\} \d+/);
      expect(metrics).toContain(`junction_queue_jobs{prefix="${prefixes.at(-1)}",queue="backups"`);
    } finally {
      web.close();
      await http.close();
      await handle.close();
      await idp.close();
    }
  });
});
