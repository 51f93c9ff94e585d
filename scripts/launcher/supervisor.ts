import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServiceSpec {
  name: string;
  /** Entry file, relative to the project root. */
  entry: string;
}

export interface SupervisorOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  /** One line of a child's output. */
  output(name: string, line: string): void;
  /** One line about the children (started, exited, restarting). */
  say(line: string): void;
}

/** Restart delays: 1 s, doubling to at most 10 s; back to 1 s after a run of 30 s. */
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10_000;
const STABLE_MS = 30_000;

/**
 * Loaded into every child: when the launcher goes away without stopping it
 * (killed with SIGKILL, say), the IPC channel closes and the child stops itself
 * gracefully instead of living on as an orphan.
 */
const ORPHAN_GUARD = `data:text/javascript,${encodeURIComponent(
  'process.on("disconnect", () => process.kill(process.pid, "SIGTERM")); process.channel?.unref();',
)}`;

interface Running {
  spec: ServiceSpec;
  child?: ChildProcess;
  exited?: Promise<void>;
  restart?: NodeJS.Timeout;
  failures: number;
}

/** Runs services as child processes (`node --import tsx <entry>`), restarting any that dies. */
export class Supervisor {
  private readonly services = new Map<string, Running>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  start(spec: ServiceSpec): void {
    const running: Running = { spec, failures: 0 };
    this.services.set(spec.name, running);
    this.spawn(running);
  }

  private spawn(running: Running): void {
    const { spec } = running;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', ORPHAN_GUARD, spec.entry], {
      cwd: this.options.root,
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: Ctrl-C reaches the launcher only, which stops the children in order.
      detached: true,
    });
    const startedAt = Date.now();
    running.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.options.output(spec.name, line));
    }
    running.exited = new Promise((resolve) => {
      let done = false;
      const exited = (how: string) => {
        if (done) return;
        done = true;
        resolve();
        if (this.stopping) return;
        if (Date.now() - startedAt >= STABLE_MS) running.failures = 0;
        const delay = Math.min(FIRST_DELAY_MS * 2 ** running.failures, MAX_DELAY_MS);
        running.failures += 1;
        this.options.say(`${spec.name} ${how}; restarting in ${delay / 1000} s`);
        running.restart = setTimeout(() => this.spawn(running), delay);
      };
      child.once('exit', (code, signal) => exited(signal ? `was killed by ${signal}` : `exited with code ${code}`));
      child.once('error', (error) => exited(`could not run (${error.message})`));
    });
    if (child.pid !== undefined) this.options.say(`started ${spec.name} pid ${child.pid}`);
  }

  /** SIGTERM to every child, SIGKILL to those still running after `graceMs`. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const alive = [...this.services.values()].filter((r) => {
      clearTimeout(r.restart);
      return r.child && r.child.exitCode === null && r.child.signalCode === null;
    });
    for (const { child } of alive) child!.kill('SIGTERM');
    const all = Promise.all(alive.map((r) => r.exited ?? Promise.resolve()));
    const inTime = await Promise.race([all.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (inTime) return;
    for (const { spec, child } of alive) {
      if (child!.exitCode === null && child!.signalCode === null) {
        this.options.say(`${spec.name} did not stop within ${graceMs / 1000} s: SIGKILL`);
        child!.kill('SIGKILL');
      }
    }
    await all;
  }
}
