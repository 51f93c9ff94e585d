import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { freePort } from './orders.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface SubgraphProcess {
  /** The subgraph's /graphql URL. */
  url: string;
  child: ChildProcess;
  /** Freezes the process (SIGSTOP): its sockets stay open and nothing answers. */
  freeze(): void;
  /** Resumes a frozen process (SIGCONT). */
  resume(): void;
  /** Resumes it if frozen, then stops it (SIGTERM, SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Runs a Junction service as a real process of its own (`node --import tsx <script>`)
 * on a free port (given to it as `portVariable`), with `env`, and waits until its /health
 * answers (at most `startTimeoutMs`).
 */
export async function spawnService(
  label: string,
  script: string,
  portVariable: string,
  env: Record<string, string>,
  startTimeoutMs = 30_000,
): Promise<SubgraphProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, [portVariable]: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  while (
    !(await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    url: `${base}/graphql`,
    child,
    freeze: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      if (!running()) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

/**
 * Runs one subgraph as a real process of its own (`node --import tsx subgraphs/<name>/index.ts`)
 * on a free port, with `env` (at least DATABASE_URL), and waits until its /health answers.
 */
export async function spawnSubgraph(name: string, env: Record<string, string>): Promise<SubgraphProcess> {
  const module = SUBGRAPHS.find((s) => s.name === name);
  if (!module) throw new Error(`no subgraph named ${name}`);
  return spawnService(`subgraph ${name}`, `subgraphs/${name}/index.ts`, module.portSetting, env);
}

/**
 * Runs the gateway as a real process of its own (`node --import tsx gateway/index.ts`) on a free port, with `env`.
 * It loads more than a subgraph (the supergraph, the query planner): on two busy cores allow it a minute.
 */
export function spawnGateway(env: Record<string, string>): Promise<SubgraphProcess> {
  return spawnService('gateway', 'gateway/index.ts', 'GATEWAY_PORT', env, 60_000);
}
