import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import { adminPages } from '../common/admin-pages.ts';
import type { Authenticator } from '../common/auth.ts';
import { createApp, jsonErrors } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { gauge, metricsRoute } from '../common/metrics.ts';
import { backupStatusRoutes, type BackupStatusSource } from './backup/http.ts';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'prioritized'] as const;

export interface WorkersHttpOptions {
  /** Queues shown in Bull Board and counted in /metrics. */
  queues: readonly Queue[];
  logger: Logger;
  /** Verifies the admin token every page under /admin needs. */
  auth: Authenticator;
  /** Extra facts for /health, e.g. each connection's state. */
  health?: () => Record<string, unknown>;
  /** What /ready reports: 200 while `ready` is true, else 503 (e.g. Redis or PostgreSQL unreachable). */
  ready?: () => Promise<{ ready: boolean } & Record<string, unknown>>;
  /** Serves GET /admin/backups when given. */
  backups?: BackupStatusSource;
}

function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

// Queues of every live workers app in this process (tests may start several), counted at each scrape.
const counted = new Set<Queue>();

gauge({
  name: 'junction_queue_jobs',
  help: 'BullMQ jobs per queue and state, read from Redis at each scrape.',
  labelNames: ['prefix', 'queue', 'state'],
  async collect() {
    this.reset();
    await Promise.all(
      [...counted].map(async (queue) => {
        try {
          const counts = await within(1000, queue.getJobCounts(...JOB_STATES));
          for (const state of JOB_STATES) this.set({ prefix: queue.opts.prefix ?? 'bull', queue: queue.name, state }, counts[state] ?? 0);
        } catch {
          // Redis is down: the queue is left out of this scrape rather than failing it.
        }
      }),
    );
  },
});

export interface WorkersApp {
  app: Express;
  /** Stops counting this app's queues; safe to call twice. */
  close(): void;
}

/**
 * The workers' HTTP face on WORKERS_PORT: `GET /health` (liveness), `GET /ready`
 * (Redis and PostgreSQL answer),
 * `GET /metrics` (Prometheus, with each queue's job counts by state),
 * Bull Board at `/admin/queues` and the backups' status at `/admin/backups`.
 * Everything under /admin needs an admin token (bearer header, or the cookie
 * `/admin/login` sets for a browser).
 */
export function createWorkersApp({ queues, logger, auth, health, ready, backups }: WorkersHttpOptions): WorkersApp {
  const app = createApp();

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: 'workers', queues: queues.map((queue) => queue.name), ...health?.() });
  });

  app.get('/ready', async (_req, res) => {
    const state = ready ? await ready() : { ready: true };
    res.status(state.ready ? 200 : 503).json({ ...state, status: state.ready ? 'ready' : 'unavailable', service: 'workers' });
  });

  for (const queue of queues) counted.add(queue);
  metricsRoute(app);

  // Operator pages: /admin/login, then the admin role for everything else under /admin.
  app.use('/admin', adminPages(auth));
  const board = new ExpressAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  app.use('/admin/queues', board.getRouter());
  if (backups) app.use(backupStatusRoutes(backups, logger));

  app.use(jsonErrors(logger));
  return {
    app,
    close() {
      for (const queue of queues) counted.delete(queue);
    },
  };
}
