import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';

const SYSTEM_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'`;

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  generated: boolean;
  /** Filled by a sequence (serial / bigserial). */
  serial: boolean;
  enumValues: string[] | null;
}

interface Table {
  schema: string;
  name: string;
  columns: Column[];
  /** Foreign keys: local columns → parent table and columns. */
  foreign: { columns: string[]; parent: string; parentColumns: string[] }[];
}

const qualified = (t: { schema: string; name: string }) => `"${t.schema}"."${t.name}"`;

async function tables(sql: postgres.Sql): Promise<Table[]> {
  const rows = await sql<{ schema: string; name: string }[]>`
    select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and ${sql.unsafe(SYSTEM_SCHEMAS)} order by 1, 2`;
  const result: Table[] = [];
  for (const { schema, name } of rows) {
    const columns = await sql<Column[]>`
      select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable,
             (a.attidentity <> '' or a.attgenerated <> '') as generated,
             coalesce(pg_get_expr(d.adbin, d.adrelid) like 'nextval(%', false) as serial,
             (select array_agg(e.enumlabel order by e.enumsortorder) from pg_enum e where e.enumtypid = a.atttypid) as "enumValues"
      from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = ${`"${schema}"."${name}"`}::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`;
    const foreign = await sql<{ columns: string[]; parent: string; parentColumns: string[] }[]>`
      select array(select attname from pg_attribute where attrelid = c.conrelid and attnum = any(c.conkey) order by array_position(c.conkey, attnum)) as columns,
             c.confrelid::regclass::text as parent,
             array(select attname from pg_attribute where attrelid = c.confrelid and attnum = any(c.confkey) order by array_position(c.confkey, attnum)) as "parentColumns"
      from pg_constraint c where c.contype = 'f' and c.conrelid = ${`"${schema}"."${name}"`}::regclass`;
    result.push({ schema, name, columns, foreign });
  }
  return result;
}

function literal(column: Column, n: number): string {
  const type = column.type;
  if (column.enumValues?.length) return `'${column.enumValues[n % column.enumValues.length]!.replace(/'/g, "''")}'::${type}`;
  if (type === 'uuid') return 'gen_random_uuid()';
  if (/^(smallint|integer|bigint|numeric|real|double precision)/.test(type)) return String(n + 1);
  if (type === 'boolean') return n % 2 === 0 ? 'true' : 'false';
  if (type.startsWith('timestamp') || type === 'date') return `(now() - interval '${n} minutes')::${type}`;
  if (type === 'jsonb' || type === 'json') return `'{"n": ${n}, "seed": "${randomBytes(4).toString('hex')}"}'::${type}`;
  if (type === 'bytea') return `'\\x${randomBytes(8).toString('hex')}'::bytea`;
  return `'${column.name}-${n}-${randomBytes(4).toString('hex')}'::${type}`;
}

/**
 * Puts `rows` rows in every table of the database (parents before children,
 * foreign keys pointing at real parent rows), whatever tables the migrations
 * made, so a backup test covers tables added later too (`skip` names tables the
 * caller fills itself, e.g. "backups.uploads"). Returns the tables seeded.
 */
export async function seedEveryTable(sql: postgres.Sql, { rows = 3, skip = [] }: { rows?: number; skip?: string[] } = {}): Promise<string[]> {
  const all = (await tables(sql)).filter((t) => !skip.includes(`${t.schema}.${t.name}`));
  const done = new Set<string>();
  const pending = [...all];
  while (pending.length > 0) {
    const index = pending.findIndex((t) => t.foreign.every((f) => done.has(f.parent) || f.parent === qualified(t).replace(/"/g, '')));
    if (index < 0) throw new Error(`cannot order tables by foreign keys: ${pending.map(qualified).join(', ')}`);
    const table = pending.splice(index, 1)[0]!;
    const parentRows = new Map<string, Record<string, unknown>[]>();
    for (const f of table.foreign)
      parentRows.set(
        f.parent,
        await sql.unsafe(
          `select ${f.parentColumns.map((c) => `"${c}"::text`).join(', ')} from ${f.parent
            .split('.')
            .map((p) => `"${p.replace(/"/g, '')}"`)
            .join('.')}`,
        ),
      );
    for (let n = 0; n < rows; n += 1) {
      const names: string[] = [];
      const values: string[] = [];
      for (const column of table.columns) {
        if (column.generated) continue;
        const fk = table.foreign.find((f) => f.columns.includes(column.name));
        if (fk) {
          const parent = parentRows.get(fk.parent)?.[n % Math.max(1, parentRows.get(fk.parent)?.length ?? 1)];
          if (!parent) throw new Error(`no parent row in ${fk.parent} for ${qualified(table)}`);
          const value = parent[fk.parentColumns[fk.columns.indexOf(column.name)]!] as string;
          names.push(`"${column.name}"`);
          values.push(`'${value.replace(/'/g, "''")}'::${column.type}`);
          continue;
        }
        // Serial ids keep their sequence (so the round trip checks sequences too); other defaults are filled in.
        if (column.serial) continue;
        names.push(`"${column.name}"`);
        values.push(literal(column, n));
      }
      await sql.unsafe(`insert into ${qualified(table)} (${names.join(', ')}) values (${values.join(', ')})`);
    }
    done.add(`${table.schema}.${table.name}`);
  }
  return all.map((t) => `${t.schema}.${t.name}`);
}

/** Row count and a digest of every row of every table, plus each sequence's value: equal for equal data. */
export async function tableDigests(sql: postgres.Sql): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of await tables(sql)) {
    const [row] = await sql.unsafe(
      `select count(*)::int as n, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest from ${qualified(table)} t`,
    );
    digests[`${table.schema}.${table.name}`] = `${row!.n} rows ${row!.digest}`;
  }
  const sequences = await sql<
    { name: string; value: string | null }[]
  >`select schemaname || '.' || sequencename as name, last_value::text as value from pg_sequences`;
  for (const s of sequences) digests[`sequence ${s.name}`] = s.value ?? 'unused';
  return digests;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run backup -- <args>` as a real process (tsx scripts/backup.ts), with `env` over this process's environment. */
export function runBackupCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
