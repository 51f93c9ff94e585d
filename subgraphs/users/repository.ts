import { count, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { pageAfter, type Ordering } from '../../common/sql.ts';
import { enrichments, users, usersOutbox } from './db.ts';
import { userSignup } from './jobs.ts';

export type UserRow = typeof users.$inferSelect;
export type EnrichmentRow = typeof enrichments.$inferSelect;

/** Users' order: createdAt, then id. */
const OLDEST_FIRST: Ordering = { keys: [users.createdAt, users.id], direction: 'asc' };

/** A unique-violation on the lower(email) index. */
export function isDuplicateEmail(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; constraint_name?: string } })?.cause ?? (error as { code?: string; constraint_name?: string });
  return cause?.code === '23505' && cause.constraint_name === 'users_email_lower_key';
}

/** The only code that touches the users schema's tables. */
export class UsersRepository {
  constructor(private readonly db: Database) {}

  /** One statement for any number of ids. */
  byIds(ids: readonly string[]): Promise<UserRow[]> {
    return this.db
      .select()
      .from(users)
      .where(inArray(users.id, [...ids]));
  }

  /** `limit` rows after the cursor, ordered by createdAt then id. */
  page(limit: number, after: readonly [Date, string] | null): Promise<UserRow[]> {
    return pageAfter(this.db, users, { ordering: OLDEST_FIRST, after, limit });
  }

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(users);
    return row?.n ?? 0;
  }

  /** Inserts the user and its USER_SIGNUP event in one transaction. */
  create(input: { name: string; email: string }): Promise<UserRow> {
    return this.db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values(input).returning();
      // Picked up by the notifications capability, which records and delivers it.
      await tx.insert(usersOutbox).values(userSignup.announce({ userId: user!.id, name: user!.name, email: user!.email }, user!.createdAt));
      return user!;
    });
  }

  async update(id: string, input: { name?: string; email?: string }): Promise<UserRow | undefined> {
    const [user] = await this.db
      .update(users)
      .set({ ...input, updatedAt: sql`now()` })
      .where(eq(users.id, id))
      .returning();
    return user;
  }

  /** Last-known-good enrichment of any number of users, in one statement. */
  enrichmentsByUserIds(ids: readonly string[]): Promise<EnrichmentRow[]> {
    return this.db
      .select()
      .from(enrichments)
      .where(inArray(enrichments.userId, [...ids]));
  }

  /** Stores fetched enrichments in one statement; a row never replaces one fetched later. */
  async saveEnrichments(rows: readonly EnrichmentRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insert(enrichments)
      .values([...rows])
      .onConflictDoUpdate({
        target: enrichments.userId,
        set: {
          found: sql`excluded.found`,
          company: sql`excluded.company`,
          jobTitle: sql`excluded.job_title`,
          location: sql`excluded.location`,
          fetchedAt: sql`excluded.fetched_at`,
        },
        setWhere: sql`${enrichments.fetchedAt} <= excluded.fetched_at`,
      });
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
    return deleted.length > 0;
  }
}
