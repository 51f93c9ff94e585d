import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { partnerCall } from './chaos.ts';
import type { ExternalState } from './state.ts';

const KEY = /^[\x21-\x7e]{1,255}$/;
const messageSchema = z.record(z.string(), z.unknown());

/**
 * POST /messages (the partner call, under chaos) with an Idempotency-Key: 202 and a
 * new delivery, or 200 with the first delivery when the key was seen before.
 * GET /messages lists deliveries with the number of requests each key had.
 */
export function notifyRoutes(state: ExternalState): Router {
  const router = express.Router();
  router.post('/messages', partnerCall(state, 'notify', express.json()), (req, res) => {
    const key = req.get('idempotency-key');
    if (!key || !KEY.test(key)) {
      res.status(400).json({ error: 'an Idempotency-Key header (1..255 visible characters) is required' });
      return;
    }
    const parsed = messageSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'expected a JSON object' });
      return;
    }
    const known = state.deliveries.get(key);
    if (known) {
      known.requests += 1;
      res.status(200).set('Idempotent-Replayed', 'true').json({ id: known.id, deliveredAt: known.deliveredAt });
      return;
    }
    const delivery = { id: randomUUID(), idempotencyKey: key, body: parsed.data, deliveredAt: new Date().toISOString(), requests: 1 };
    state.deliveries.set(key, delivery);
    res.status(202).json({ id: delivery.id, deliveredAt: delivery.deliveredAt });
  });
  router.get('/messages', (_req, res) => {
    res.json([...state.deliveries.values()]);
  });
  return router;
}
