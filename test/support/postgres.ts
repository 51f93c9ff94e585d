import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './orders.ts';

const run = promisify(execFile);

/** The newest PostgreSQL server binaries installed (Debian layout: /usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, majors[0]!, 'bin');
}

/**
 * A throwaway PostgreSQL cluster of a test's own (never the machine's shared
 * one): initdb into a temporary directory, served on a free port, so a test
 * can stop() and start() it at will. As root, the cluster belongs to the
 * `postgres` user, as initdb requires.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly settings: Record<string, string> = {},
  ) {}

  /** `settings`: server settings beyond the defaults below (e.g. `shared_preload_libraries: 'pg_stat_statements'`). */
  static async start(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'junction-pg-'));
    const pg = new PrivatePostgres(dir, await freePort(), settings);
    if (process.getuid?.() === 0) {
      chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
      chmodSync(dir, 0o700);
    }
    await pg.as(`${binDir()}/initdb`, ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions']);
    await pg.start();
    return pg;
  }

  /** The cluster's maintenance database; use it as TEST_ADMIN_DATABASE_URL-like admin URL. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off${Object.entries(
      this.settings,
    )
      .map(([name, value]) => ` -c ${name}=${value}`)
      .join('')}`;
    await this.as(`${binDir()}/pg_ctl`, ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
  }

  /** Stops the server as an outage would: every connection is cut (fast shutdown), new ones are refused. */
  async stop(): Promise<void> {
    await this.as(`${binDir()}/pg_ctl`, ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30', 'stop']);
  }

  /** Stops the server if it runs and removes the cluster. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async as(command: string, args: string[]): Promise<void> {
    if (process.getuid?.() === 0) {
      const quoted = [command, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
      await run('su', ['postgres', '-c', quoted]);
    } else {
      await run(command, args);
    }
  }
}
