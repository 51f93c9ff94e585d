import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase, migrationsApplied } from '../../common/db.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `jt_migrate_wait_${randomBytes(4).toString('hex')}`;
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();

/** `npm run db:migrate -- --wait` (the Kubernetes init container) as a real process. */
function waitProcess(timeoutMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', '--wait'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, MIGRATE_WAIT_TIMEOUT_MS: String(timeoutMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { exit, output: () => output };
}

afterAll(async () => {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe('db:migrate --wait (the init container of every Kubernetes Deployment)', () => {
  it('fails after its timeout while the database does not exist, applying nothing', async () => {
    expect(await migrationsApplied(url)).toBe(false);
    const wait = waitProcess(1500);
    expect(await wait.exit).toBe(1);
    expect(wait.output()).toContain(`the migrations of ${name} were not applied within 1500 ms`);
    expect(await migrationsApplied(url)).toBe(false);
  }, 30_000);

  it('exits 0 once another process (the migrate Job) has applied every migration', async () => {
    const wait = waitProcess(30_000);
    await expect.poll(() => wait.output(), { timeout: 15_000 }).toContain('waiting for the migrations');
    await migrateDatabase(url);
    expect(await wait.exit).toBe(0);
    expect(wait.output()).toContain(`migrations of ${name} are applied`);
    expect(await migrationsApplied(url)).toBe(true);
  }, 40_000);
});
