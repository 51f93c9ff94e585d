import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import { partnerCall } from './chaos.ts';
import type { ExternalState, Profile } from './state.ts';

const COMPANIES = ['Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Soylent Foods'];
const JOB_TITLES = [
  'Software Engineer',
  'Product Manager',
  'Data Scientist',
  'Designer',
  'Site Reliability Engineer',
  'Engineering Manager',
  'CTO',
  'Support Lead',
];
const LOCATIONS = ['Berlin', 'Lisbon', 'Toronto', 'Singapore', 'Nairobi', 'Austin', 'Melbourne', 'São Paulo'];

/** Ids that begin with eight zeros (e.g. 00000000-0000-4000-8000-000000000001) are unknown: 404. */
const UNKNOWN_ID = /^0{8}/;

/** The profile the service makes up for an id it was not told about: the same for the same id. */
export function derivedProfile(userId: string): Profile | null {
  if (UNKNOWN_ID.test(userId)) return null;
  const digest = createHash('sha256').update(userId).digest();
  const pick = (list: string[], byte: number) => list[digest[byte]! % list.length]!;
  return { company: pick(COMPANIES, 0), jobTitle: pick(JOB_TITLES, 1), location: pick(LOCATIONS, 2) };
}

const profileSchema = z.strictObject({
  company: z.string().max(200).nullable().default(null),
  jobTitle: z.string().max(200).nullable().default(null),
  location: z.string().max(200).nullable().default(null),
});

/**
 * GET /enrichment/:userId (the partner call, under chaos) → 200 profile or 404.
 * PUT sets a profile and DELETE makes the id unknown (control routes, never failing).
 */
export function enrichmentRoutes(state: ExternalState): Router {
  const router = express.Router();
  router.get('/enrichment/:userId', partnerCall(state, 'enrichment'), (req, res) => {
    const userId = String(req.params.userId);
    const profile = state.profiles.has(userId) ? state.profiles.get(userId)! : derivedProfile(userId);
    if (!profile) {
      res.status(404).json({ error: `nothing known about ${userId}` });
      return;
    }
    res.json(profile);
  });
  router.put('/enrichment/:userId', express.json(), (req, res) => {
    const parsed = profileSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'expected {"company", "jobTitle", "location"}: strings or null', issues: parsed.error.issues });
      return;
    }
    state.profiles.set(req.params.userId, parsed.data);
    res.json(parsed.data);
  });
  router.delete('/enrichment/:userId', (req, res) => {
    state.profiles.set(req.params.userId, null);
    res.status(204).end();
  });
  return router;
}
