import express, { type Router } from 'express';
import { z } from 'zod';
import { partnerCall } from './chaos.ts';
import type { ExternalState } from './state.ts';

const eventSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(1000),
  userId: z.string().min(1).max(200),
  startsAt: z.iso.datetime({ offset: true }),
});

/** POST /events (the partner call, under chaos) registers an event; GET /events lists them. */
export function registryRoutes(state: ExternalState): Router {
  const router = express.Router();
  router.post('/events', partnerCall(state, 'registry', express.json()), (req, res) => {
    const parsed = eventSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'expected {"id", "name", "userId", "startsAt" (ISO date-time)}', issues: parsed.error.issues });
      return;
    }
    const { id, name, userId, startsAt } = parsed.data;
    const known = state.events.get(id);
    if (known) {
      // A retried registration is fine; the same id with other data is not.
      const same = known.name === name && known.userId === userId && Date.parse(known.startsAt) === Date.parse(startsAt);
      res.status(same ? 200 : 409).json(same ? known : { error: `event ${id} is registered with other data` });
      return;
    }
    const event = { id, name, userId, startsAt, registeredAt: new Date().toISOString() };
    state.events.set(id, event);
    res.status(201).json(event);
  });
  router.get('/events', (_req, res) => {
    res.json([...state.events.values()]);
  });
  return router;
}
