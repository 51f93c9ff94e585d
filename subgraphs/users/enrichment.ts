import { z } from 'zod';
import { isOpenBreakerError } from '../../common/breaker.ts';
import type { UsersConfig as Config } from './settings.ts';
import type { RequestIds } from '../../common/http.ts';
import { isUuid } from '../../common/ids.ts';
import type { Logger } from '../../common/logger.ts';
import { Partner, type PartnerResponse } from '../../common/partner.ts';
import type { EnrichmentRow, UsersRepository } from './repository.ts';

/** How fresh User.enrichment is: the schema's EnrichmentStatus (server.ts checks they are the same). */
export type EnrichmentStatus = 'AVAILABLE' | 'STALE' | 'UNAVAILABLE';

/** What User.enrichment resolves to. */
export interface Enrichment {
  status: EnrichmentStatus;
  company: string | null;
  jobTitle: string | null;
  location: string | null;
  fetchedAt: Date | null;
}

/** The answer of a call that failed or that the open breaker rejected (the breaker's fallback). */
const UNREACHABLE: PartnerResponse<unknown> = Object.freeze({ status: 0, body: undefined });

const profileSchema = z.object({
  company: z.string().nullish(),
  jobTitle: z.string().nullish(),
  location: z.string().nullish(),
});

/**
 * The enrichment service behind its breaker (`enrichment`): GET /enrichment/{id},
 * ENRICHMENT_TIMEOUT_MS per attempt, 404 meaning "nothing known".
 */
export function createEnrichmentPartner(config: Config, logger: Logger): Partner {
  const log = logger.child({ partner: 'enrichment' });
  return new Partner({
    name: 'enrichment',
    baseUrl: config.ENRICHMENT_URL,
    config,
    logger,
    attemptTimeoutMs: config.ENRICHMENT_TIMEOUT_MS,
    answers: [404],
  }).fallback((request, error) => {
    // While open, every call is rejected: that is the breaker working, not news.
    if (!isOpenBreakerError(error)) log.warn({ err: error, path: request.path }, 'enrichment call failed; serving last known data');
    return UNREACHABLE;
  });
}

export interface EnrichmentsOptions {
  /** Stored data younger than this is served without calling the service. */
  ttlMs: number;
  /** Calls in flight at once for one batch. Default 8. */
  concurrency?: number;
  logger: Logger;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function eachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * User enrichment with last-known-good: fresh stored data is served as is,
 * anything older is fetched again, and while the service fails the stored data
 * is served STALE (UNAVAILABLE when there is none). Never rejects.
 */
export class Enrichments {
  private readonly log: Logger;

  constructor(
    private readonly repo: UsersRepository,
    private readonly partner: Partner,
    private readonly options: EnrichmentsOptions,
  ) {
    this.log = options.logger.child({ partner: 'enrichment' });
  }

  /** The enrichment of each user, in order: one read, calls for the users not fresh, one write. `ids` go along on the calls. */
  async forUsers(userIds: readonly string[], ids?: RequestIds): Promise<Enrichment[]> {
    const valid = userIds.filter(isUuid);
    const stored = new Map<string, EnrichmentRow>();
    try {
      if (valid.length > 0) for (const row of await this.repo.enrichmentsByUserIds(valid)) stored.set(row.userId, row);
    } catch (error) {
      this.log.error({ err: error }, 'could not read stored enrichments');
    }

    const now = Date.now();
    const isFresh = (row: EnrichmentRow | undefined) => row !== undefined && now - row.fetchedAt.getTime() < this.options.ttlMs;
    const fetched = new Map<string, EnrichmentRow>();
    await eachLimit(
      valid.filter((id) => !isFresh(stored.get(id))),
      this.options.concurrency ?? 8,
      async (id) => {
        const row = await this.fetch(id, ids);
        if (row) fetched.set(id, row);
      },
    );
    if (fetched.size > 0) {
      try {
        await this.repo.saveEnrichments([...fetched.values()]);
      } catch (error) {
        // Served anyway; the next request fetches it again.
        this.log.error({ err: error }, 'could not store fetched enrichments');
      }
    }

    return userIds.map((id) => {
      const row = fetched.get(id) ?? stored.get(id);
      if (!row) return { status: 'UNAVAILABLE', company: null, jobTitle: null, location: null, fetchedAt: null };
      return {
        status: fetched.has(id) || isFresh(row) ? 'AVAILABLE' : 'STALE',
        company: row.company,
        jobTitle: row.jobTitle,
        location: row.location,
        fetchedAt: row.fetchedAt,
      };
    });
  }

  /** One user's data from the service, or null when it failed (or the breaker is open). */
  private async fetch(userId: string, ids?: RequestIds): Promise<EnrichmentRow | null> {
    let response: PartnerResponse<unknown>;
    try {
      response = await this.partner.request({
        method: 'GET',
        path: `/enrichment/${encodeURIComponent(userId)}`,
        ...(ids ? { headers: { 'x-request-id': ids.requestId, 'x-correlation-id': ids.correlationId } } : {}),
      });
    } catch (error) {
      // A 4xx other than 404: the service refused this id; it does not trip the breaker.
      this.log.warn({ err: error, userId }, 'enrichment refused');
      return null;
    }
    if (response === UNREACHABLE) return null;
    const fetchedAt = new Date();
    if (response.status === 404) return { userId, found: false, company: null, jobTitle: null, location: null, fetchedAt };
    const profile = profileSchema.safeParse(response.body);
    if (!profile.success) {
      this.log.warn({ userId, issues: profile.error.issues }, 'enrichment answered with an unexpected body');
      return null;
    }
    const { company, jobTitle, location } = profile.data;
    return { userId, found: true, company: company ?? null, jobTitle: jobTitle ?? null, location: location ?? null, fetchedAt };
  }
}
