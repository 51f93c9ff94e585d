import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsApplied } from '../../common/db.ts';
import { dumpLabel, listDumps } from '../../workers/backup/files.ts';
import { runBackupCli } from '../support/backup.ts';

/**
 * The commands with a database per subgraph, as an operator runs them with
 * only environment variables: `npm run db:migrate` (and `--wait`) covers every
 * distinct database, `npm run backup -- dump` dumps each.
 */
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(4).toString('hex');
const names = { main: `jt_dbs_main_${suffix}`, orders: `jt_dbs_orders_${suffix}`, later: `jt_dbs_later_${suffix}` };
const urlOf = (name: string) => Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
const main = urlOf(names.main);
const orders = urlOf(names.orders);
let dir: string | undefined;

/** `npm run db:migrate -- <args>` as a real process, with `env` over this process's; its output is stdout and stderr together. */
function migrate(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

afterAll(async () => {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  for (const name of Object.values(names)) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the commands with a database per subgraph', () => {
  it('npm run db:migrate migrates DATABASE_URL and ORDERS_DATABASE_URL; --wait waits for each', async () => {
    const env = { DATABASE_URL: main, ORDERS_DATABASE_URL: orders };
    const migrated = await migrate([], env);
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).toContain(`migrations applied to ${names.main} at`);
    expect(migrated.output).toContain(`migrations applied to ${names.orders} at`);
    expect(await migrationsApplied(main)).toBe(true);
    expect(await migrationsApplied(orders)).toBe(true);

    const ready = await migrate(['--wait'], { ...env, MIGRATE_WAIT_TIMEOUT_MS: '5000' });
    expect(ready.code, ready.output).toBe(0);
    // A subgraph moved to a database nobody migrated yet: --wait names it and fails.
    const later = await migrate(['--wait'], { ...env, USERS_DATABASE_URL: urlOf(names.later), MIGRATE_WAIT_TIMEOUT_MS: '1000' });
    expect(later.code).toBe(1);
    expect(later.output).toContain(`the migrations of ${names.later} at`);
  }, 60_000);

  it('npm run backup -- dump dumps each distinct database', async () => {
    dir = await mkdtemp(join(tmpdir(), 'jt-dbs-backups-'));
    const dumped = await runBackupCli(['dump'], { DATABASE_URL: main, ORDERS_DATABASE_URL: orders, BACKUP_DIR: dir, LOG_LEVEL: 'silent' });
    expect(dumped.code, dumped.stderr).toBe(0);
    expect(dumped.stdout.trim().split('\n')).toHaveLength(2);
    expect((await listDumps(dir)).map((d) => dumpLabel(d.name)).sort()).toEqual([names.main, names.orders].sort());
  }, 60_000);
});
