import { setTimeout as sleep } from 'node:timers/promises';
import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { isPartnerService, type ExternalState, type PartnerService, type RecordedCall } from './state.ts';

export const chaosSchema = z.strictObject({
  failureRate: z.number().min(0).max(1).default(0),
  latencyMs: z.number().int().min(0).max(120_000).default(0),
});

/**
 * Put in front of a partner route: records the call, reads the body with
 * `bodyParser`, waits the service's latency, then answers 503 for its share of
 * failures or passes the request on. The body is read before the wait so the
 * work still happens when the client gives up meanwhile, as with a real partner.
 * Failures are deterministic: request n fails when floor(n·rate) > floor((n−1)·rate).
 */
export function partnerCall(state: ExternalState, service: PartnerService, bodyParser?: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const call: RecordedCall = {
      service,
      method: req.method,
      path: req.originalUrl,
      time: Date.now(),
      durationMs: null,
      status: null,
      requestId: req.get('x-request-id') ?? null,
    };
    state.calls.push(call);
    res.once('finish', () => {
      call.status = res.statusCode;
      call.durationMs = Date.now() - call.time;
    });
    const settings = state.chaos[service];
    settings.seen += 1;
    const fails = Math.floor(settings.seen * settings.failureRate) > Math.floor((settings.seen - 1) * settings.failureRate);
    const afterBody = async (error?: unknown) => {
      if (error) return next(error);
      if (settings.latencyMs > 0) await sleep(settings.latencyMs);
      if (!fails) return next();
      res
        .status(503)
        .set('Retry-After', '1')
        .json({ error: `simulated ${service} failure` });
    };
    if (bodyParser) bodyParser(req, res, afterBody);
    else void afterBody();
  };
}

function serviceParam(value: string | undefined, res: express.Response): PartnerService | undefined {
  if (isPartnerService(value)) return value;
  res.status(404).json({ error: `unknown service "${value}": expected enrichment, registry, notify or backup` });
  return undefined;
}

/** POST/DELETE /_chaos/:service, GET /_chaos, GET/DELETE /_calls. */
export function controlRoutes(state: ExternalState): Router {
  const router = express.Router();

  router.get('/_chaos', (_req, res) => {
    res.json(Object.fromEntries(Object.entries(state.chaos).map(([s, { failureRate, latencyMs }]) => [s, { failureRate, latencyMs }])));
  });
  router.post('/_chaos/:service', express.json(), (req, res) => {
    const service = serviceParam(req.params.service, res);
    if (!service) return;
    const parsed = chaosSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'expected {"failureRate": 0..1, "latencyMs": whole ms}', issues: parsed.error.issues });
      return;
    }
    state.setChaos(service, parsed.data);
    res.json({ service, ...parsed.data });
  });
  router.delete('/_chaos/:service', (req, res) => {
    const service = serviceParam(req.params.service, res);
    if (!service) return;
    state.resetChaos(service);
    res.status(204).end();
  });
  router.delete('/_chaos', (_req, res) => {
    state.resetChaos();
    res.status(204).end();
  });

  router.get('/_calls', (req, res) => {
    const { service } = req.query;
    if (service === undefined) {
      res.json(state.calls);
      return;
    }
    if (!isPartnerService(service)) {
      res.status(400).json({ error: 'service must be enrichment, registry, notify or backup' });
      return;
    }
    res.json(state.calls.filter((call) => call.service === service));
  });
  router.delete('/_calls', (_req, res) => {
    state.calls.length = 0;
    res.status(204).end();
  });
  return router;
}
