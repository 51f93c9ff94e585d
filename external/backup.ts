import express, { type Router } from 'express';
import { partnerCall } from './chaos.ts';
import type { ExternalState } from './state.ts';

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** PUT /backups/:name stores the body as is; GET /backups/:name returns it (both under chaos). */
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
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const existed = state.backups.has(name);
    const backup = { body, contentType: req.get('content-type') ?? 'application/octet-stream', storedAt: new Date().toISOString() };
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
