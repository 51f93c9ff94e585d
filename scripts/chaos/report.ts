/**
 * The report of a chaos run, in Markdown, and its place in docs/reliability.md:
 * a run shorter than ten minutes replaces the "Short run" section, a longer one
 * the "Long run" section (between their markers); the rest of the page is prose.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { FaultWindow, Figures, Snapshot, Violation } from './audit.ts';

export interface RunReport {
  seed: number;
  minutes: number;
  machine: string;
  settings: Record<string, string>;
  clients: number;
  faults: FaultWindow[];
  startMs: number;
  figures: Figures;
  snapshot: Snapshot;
  violations: Violation[];
  rss: Record<string, { start: number; end: number }>;
  quiescenceMs: number;
  totalOperations: number;
}

const pct = (share: number) => (Number.isNaN(share) ? 'n/a' : `${(share * 100).toFixed(1)}%`);
const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value} ms`);

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

export function renderReport(r: RunReport): string {
  const s = r.snapshot;
  const lines: string[] = [];
  lines.push(`Run of \`npm run chaos -- --minutes ${r.minutes} --seed ${r.seed}\` on ${new Date(r.startMs).toISOString().slice(0, 16)} UTC.`);
  lines.push('');
  lines.push(`- Result: ${r.violations.length === 0 ? '**no violation**' : `**${r.violations.length} violation(s)**`}`);
  lines.push(`- Machine: ${r.machine}`);
  lines.push(`- Workload: ${r.clients} clients, ${r.totalOperations} operations, ${s.subscribers.length} orderUpdates subscribers`);
  lines.push(`- Faults: ${r.faults.length} (${list(countBy(r.faults, (f) => f.kind))})`);
  lines.push(
    s.quiesced
      ? `- At rest ${(r.quiescenceMs / 1000).toFixed(1)} s after healing`
      : `- **Not at rest** ${(r.quiescenceMs / 1000).toFixed(1)} s after healing: ${s.quiescenceNote}`,
  );
  lines.push(
    `- Settings over the defaults: ${Object.entries(r.settings)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}`,
  );
  lines.push('');
  lines.push('| operation | ok | refused | unknown |');
  lines.push('| --- | ---: | ---: | ---: |');
  for (const [kind, c] of Object.entries(r.figures.operations).sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`| ${kind} | ${c.ok} | ${c.error} | ${c.unknown} |`);
  lines.push('');
  lines.push(`Error codes answered: ${list(r.figures.codes)}.`);
  lines.push('');
  lines.push('| | answered | p50 | p99 |');
  lines.push('| --- | ---: | ---: | ---: |');
  lines.push(`| outside faults | ${pct(r.figures.answered.calm)} | ${ms(r.figures.latencyMs.calm.p50)} | ${ms(r.figures.latencyMs.calm.p99)} |`);
  lines.push(
    `| during faults | ${pct(r.figures.answered.duringFaults)} | ${ms(r.figures.latencyMs.duringFaults.p50)} | ${ms(r.figures.latencyMs.duringFaults.p99)} |`,
  );
  lines.push('');
  const repeats = s.deliveries.reduce((sum, d) => sum + d.requests - 1, 0);
  const failed = s.orders.filter((o) => o.status === 'FAILED');
  lines.push(
    `Audited: ${s.orders.length} orders (${list(countBy(s.orders, (o) => o.status))}; FAILED by reason: ${list(countBy(failed, (o) => o.failureReason ?? 'none'))}); ${s.users.length} users; ${s.notifications.length} notifications (${list(
      countBy(s.notifications, (n) => n.status),
    )}); ${s.deliveries.length} deliveries, ${repeats} repeated requests with a key already delivered; subscribers resumed ${s.subscribers.reduce(
      (sum, w) => sum + w.resumes,
      0,
    )} times and received ${s.subscribers.reduce((sum, w) => sum + w.received.length, 0)} changes.`,
  );
  lines.push('');
  lines.push('| process | RSS at start | RSS at end |');
  lines.push('| --- | ---: | ---: |');
  for (const [name, { start, end }] of Object.entries(r.rss)) lines.push(`| ${name} | ${start.toFixed(0)} MiB | ${end.toFixed(0)} MiB |`);
  lines.push('');
  lines.push('A process killed and started again is measured at its first start and in its last life.');
  lines.push('');
  if (r.violations.length > 0) {
    lines.push('Violations:');
    lines.push('');
    for (const v of r.violations.slice(0, 50)) lines.push(`- [${v.rule}] ${v.message}${v.operations.length ? ` (operations ${v.operations.join(', ')})` : ''}`);
    lines.push('');
  }
  lines.push('<details><summary>Faults, with their times from the start of the workload</summary>');
  lines.push('');
  for (const f of r.faults)
    lines.push(`- +${((f.startMs - r.startMs) / 1000).toFixed(1)} s to +${((f.endMs - r.startMs) / 1000).toFixed(1)} s: ${f.description}`);
  lines.push('');
  lines.push('</details>');
  return lines.join('\n');
}

/** The markers of a section a run replaces. */
export function sectionMarkers(minutes: number): { start: string; end: string } {
  const name = minutes >= 10 ? 'long' : 'short';
  return { start: `<!-- chaos:${name}:start -->`, end: `<!-- chaos:${name}:end -->` };
}

/** Puts `report` between its section's markers in `file`; a file without them gets them appended. */
export function replaceSection(text: string, minutes: number, report: string): string {
  const { start, end } = sectionMarkers(minutes);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) return `${text.trimEnd()}\n\n${start}\n${report}\n${end}\n`;
  return `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`;
}

export function writeReport(file: string, minutes: number, report: string): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Reliability\n';
  writeFileSync(file, replaceSection(text, minutes, report));
}
