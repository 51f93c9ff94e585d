import express, { type Router } from 'express';
import { partnerCall } from './chaos.ts';
import type { ExternalState } from './state.ts';

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** Seconds from `now` until the next UTC midnight, when a new day's upload is allowed. */
export function secondsUntilNextUtcDay(now = new Date()): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/**
 * PUT /backups/:name stores the body as is, once per UTC day: a second upload
 * the same day (any name) is 429 with Retry-After until midnight UTC.
 * GET /backups/:name returns a stored one (both under chaos).
 */
export function backupRoutes(state: ExternalState): Router {
  const router = express.Router();
  router.get('/backups', (_req, res) => {
    res.json([...state.backups].map(([name, b]) => ({ name, size: b.body.length, contentType: b.contentType, storedAt: b.storedAt })));
  });
  router.put('/backups/:name', partnerCall(state, 'backup', express.raw({ type: () => true, limit: '100mb' })), (req, res) => {
    const name = String(req.params.name);
    if (!NAME.test(name)) {
      res.status(400).json({ error: 'a backup name is 1..200 letters, digits, dots, dashes or underscores' });
      return;
    }
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const earlier = state.backupDays.get(day);
    if (earlier !== undefined) {
      const retryAfter = secondsUntilNextUtcDay(now);
      res
        .status(429)
        .set('Retry-After', String(retryAfter))
        .json({ error: `one upload per UTC day: ${earlier} was stored today (${day}); try again after midnight UTC`, retryAfter });
      return;
    }
    state.backupDays.set(day, name);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const existed = state.backups.has(name);
    const backup = { body, contentType: req.get('content-type') ?? 'application/octet-stream', storedAt: now.toISOString() };
    state.backups.set(name, backup);
    res.status(existed ? 200 : 201).json({ name, size: body.length, storedAt: backup.storedAt });
  });
  router.get('/backups/:name', partnerCall(state, 'backup'), (req, res) => {
    const name = String(req.params.name);
    const backup = state.backups.get(name);
    if (!backup) {
      res.status(404).json({ error: `no backup named ${name}` });
      return;
    }
    res.status(200).type(backup.contentType).set('Last-Modified', new Date(backup.storedAt).toUTCString()).send(backup.body);
  });
  return router;
}
