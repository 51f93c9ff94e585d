import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { dropKeys, freePort } from './orders.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The one way a test runs a Junction process of its own: a subgraph, the gateway, the workers, any entry. */
export interface ServiceProcess {
  /** Its base URL (/health, /ready, /metrics). */
  base: string;
  /** Its /graphql URL (for a subgraph or the gateway). */
  url: string;
  child: ChildProcess;
  /** The QUEUE_PREFIX it runs with (its own, `jt-<label>-…`, unless `env` named one). */
  queuePrefix: string;
  /** Everything it printed so far (stdout and stderr; stderr is also passed on to the test's). */
  output(): string;
  /** Resolves when it has exited, with how. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Freezes the process (SIGSTOP): its sockets stay open and nothing answers. */
  freeze(): void;
  /** Resumes a frozen process (SIGCONT). */
  resume(): void;
  /** Resumes it if frozen, then stops it (SIGTERM, SIGKILL after 5 s), waits for it to exit, and drops its keys when the prefix was its own. */
  stop(): Promise<void>;
}

/**
 * Runs a Junction service as a real process of its own (`node --import tsx <script>`) on a free port (given
 * to it as `portVariable`), with `env` over this process's, and waits until its /health answers (at most
 * `startTimeoutMs`: what is waited for is the process answering, not how fast). Without a QUEUE_PREFIX in
 * `env` it gets one of its own (`jt-<label>-…`, its keys dropped by stop()), never the default a
 * developer's `npm start` uses on the same Redis.
 */
export async function spawnService(
  label: string,
  script: string,
  portVariable: string,
  env: Record<string, string>,
  startTimeoutMs = 30_000,
): Promise<ServiceProcess> {
  const port = await freePort();
  const ownPrefix = env.QUEUE_PREFIX === undefined ? `jt-${label.replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}` : undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...(ownPrefix ? { QUEUE_PREFIX: ownPrefix } : {}), ...env, [portVariable]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => {
    output += chunk;
    process.stderr.write(chunk);
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = () =>
    running()
      ? new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
      : Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  while (
    !(await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (!running() || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} did not start on port ${port}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    url: `${base}/graphql`,
    child,
    queuePrefix: ownPrefix ?? env.QUEUE_PREFIX!,
    output: () => output,
    exited,
    freeze: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      if (running()) {
        const exit = exited();
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(force);
      }
      if (ownPrefix) await dropKeys(env.REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `${ownPrefix}*`);
    },
  };
}

/**
 * Runs one subgraph as a real process of its own (`node --import tsx subgraphs/<name>/index.ts`)
 * on a free port, with `env` (at least DATABASE_URL), and waits until its /health answers.
 */
export async function spawnSubgraph(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const module = SUBGRAPHS.find((s) => s.name === name);
  if (!module) throw new Error(`no subgraph named ${name}`);
  return spawnService(`subgraph ${name}`, `subgraphs/${name}/index.ts`, module.portSetting, env);
}

/**
 * Runs the gateway as a real process of its own (`node --import tsx gateway/index.ts`) on a free port, with `env`.
 * It loads more than a subgraph (the supergraph, the query planner): on two busy cores allow it a minute.
 */
export function spawnGateway(env: Record<string, string>): Promise<ServiceProcess> {
  return spawnService('gateway', 'gateway/index.ts', 'GATEWAY_PORT', env, 60_000);
}

/**
 * workers/index.ts as a real process of its own with `env` (NODE_ENV=test unless `env` says otherwise).
 * Starting under tsx takes seconds on a quiet machine and took over 20 on a loaded one (CI): allow 90.
 */
export function startWorkersProcess(env: Record<string, string>): Promise<ServiceProcess> {
  return spawnService('workers', 'workers/index.ts', 'WORKERS_PORT', { NODE_ENV: 'test', ...env }, 90_000);
}
