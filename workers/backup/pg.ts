import { spawn } from 'node:child_process';

/**
 * pg_dump and pg_restore, spawned with the connection URL. The password moves
 * from the URL into PGPASSWORD, so it does not show in the process list.
 */

export class PgToolError extends Error {
  override name = 'PgToolError';
}

function connection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return {
    dbname: parsed.toString(),
    env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}), PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' },
  };
}

/** The URL without its password, for logs and messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a PostgreSQL client tool; rejects with its last stderr line when it exits non-zero. */
export function run(tool: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new PgToolError(error.code === 'ENOENT' ? `${tool} is not installed (or not on PATH)` : `${tool}: ${error.message}`));
    });
    child.once('close', (code, killedBy) => {
      if (code === 0) return resolve({ stdout, stderr });
      const last = stderr.trim().split('\n').filter(Boolean).at(-1) ?? (killedBy ? `killed by ${killedBy}` : `exit code ${code}`);
      reject(new PgToolError(last.startsWith(`${tool}:`) ? last : `${tool}: ${last}`));
    });
  });
}

/** `pg_dump -Fc` of the database at `url` into `file`. */
export async function pgDump(url: string, file: string, signal?: AbortSignal): Promise<void> {
  const { dbname, env } = connection(url);
  await run('pg_dump', ['--format=custom', `--file=${file}`, `--dbname=${dbname}`], env, signal);
}

/** The table of contents of a custom-format dump; rejects when the file is not a readable dump. */
export async function pgRestoreList(file: string): Promise<string> {
  return (await run('pg_restore', ['--list', file], process.env)).stdout;
}

/** Restores `file` into the database at `url` in one transaction (all or nothing); `clean` drops what the dump recreates first. */
export async function pgRestore(url: string, file: string, { clean }: { clean: boolean }): Promise<void> {
  const { dbname, env } = connection(url);
  const args = ['--single-transaction', '--exit-on-error', '--no-owner', `--dbname=${dbname}`];
  if (clean) args.push('--clean', '--if-exists');
  await run('pg_restore', [...args, file], env);
}
