import express, { type Express, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../../common/logger.ts';

const settingsSchema = z.strictObject({
  every: z.number().int().min(1).max(1_000_000),
  latencyMs: z.number().int().min(0).max(600_000),
});

export type GremlinSettings = z.infer<typeof settingsSchema>;

// The same limit as the /graphql parser in common/subgraph.ts, which skips a body already read.
const readBody = express.json({ limit: '1mb' });

/**
 * Chaos for inventory: while set, every Nth GraphQL request waits latencyMs
 * before it is handled (the work still happens, late, as with a slow database).
 * `POST /internal/gremlin {"every": N, "latencyMs": M}` sets it,
 * `DELETE /internal/gremlin` stops it, `GET /internal/gremlin` shows it.
 */
export class Gremlin {
  private settings: GremlinSettings | null = null;
  private seen = 0;
  private readonly held = new Map<NodeJS.Timeout, () => void>();

  constructor(private readonly logger?: Logger) {}

  get current(): GremlinSettings | null {
    return this.settings;
  }

  set(settings: GremlinSettings | null): void {
    this.settings = settings;
    this.seen = 0;
    this.logger?.warn({ gremlin: settings }, settings ? 'gremlin on' : 'gremlin off');
  }

  /** Express middleware that delays the requests the settings pick. */
  readonly delay: RequestHandler = (req, res, next) => {
    const settings = this.settings;
    if (!settings) return next();
    this.seen += 1;
    if (this.seen % settings.every !== 0 || settings.latencyMs === 0) return next();
    // Read the body first: a client that gives up meanwhile must not stop the late work (it is what makes a timeout ambiguous).
    readBody(req, res, (error?: unknown) => {
      if (error) return next(error);
      const timer = setTimeout(() => {
        this.held.delete(timer);
        next();
      }, settings.latencyMs);
      this.held.set(timer, () => next());
    });
  };

  /** Mounts the control endpoints and the delay in front of /graphql; pass to createSubgraphApp's `routes`. */
  routes(app: Express): void {
    const control = express.Router();
    control.use(express.json({ limit: '10kb' }));
    control.get('/', (_req, res) => {
      res.json({ gremlin: this.settings });
    });
    control.post('/', (req, res) => {
      const parsed = settingsSchema.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        res
          .status(400)
          .json({ error: `${issue.path.join('.') || 'body'}: ${issue.message}`, expected: { every: 'integer >= 1', latencyMs: 'integer 0..600000' } });
        return;
      }
      this.set(parsed.data);
      res.json({ gremlin: this.settings });
    });
    control.delete('/', (_req, res) => {
      this.set(null);
      res.json({ gremlin: null });
    });
    app.use('/internal/gremlin', control);
    app.use('/graphql', this.delay);
  }

  /** Turns it off and lets every held request go on at once (for shutdown). */
  stop(): void {
    this.settings = null;
    for (const [timer, release] of this.held) {
      clearTimeout(timer);
      release();
    }
    this.held.clear();
  }
}
