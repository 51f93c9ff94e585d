/**
 * `npm run bench [-- <name>...]`: runs every bench/scenarios/*.ts (each exports
 * `name` and `run(): Promise<string>`, a Markdown section) and writes
 * BENCHMARKS.md with the machine it ran on. Given names, runs only those and
 * keeps the other scenarios' sections from the existing file, and any section
 * between the same markers that no scenario writes (side-by-side results of
 * bench/compare-orders.ts, say).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.LOG_LEVEL ??= 'silent';

interface Scenario {
  name: string;
  run(): Promise<string>;
}

const scenariosDir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const output = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const wanted = process.argv.slice(2);

const begin = (name: string) => `<!-- scenario: ${name} -->`;
const END = '<!-- /scenario -->';

/** The sections of an existing BENCHMARKS.md, by scenario name. */
function previousSections(): Map<string, string> {
  const sections = new Map<string, string>();
  if (!existsSync(output)) return sections;
  const text = readFileSync(output, 'utf8');
  for (const match of text.matchAll(/<!-- scenario: (.+?) -->\n([\s\S]*?)\n<!-- \/scenario -->/g)) sections.set(match[1]!, match[2]!);
  return sections;
}

function machine(): string {
  const cpus = os.cpus();
  const [one, five] = os.loadavg();
  return [
    `- CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores (${os.availableParallelism()} available to Node.js)`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node.js: ${process.version}`,
    `- Load average when the run started: ${one!.toFixed(2)} (1 min), ${five!.toFixed(2)} (5 min); the machine may be shared, so treat the numbers as indicative`,
  ].join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  const header = machine();
  const files = readdirSync(scenariosDir)
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const scenarios: Scenario[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(`${scenariosDir}${file}`).href)) as Partial<Scenario>;
    if (typeof module.name !== 'string' || typeof module.run !== 'function') throw new Error(`bench/scenarios/${file} must export name and run()`);
    scenarios.push(module as Scenario);
  }
  const unknown = wanted.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`no scenario named ${unknown.join(', ')}; have ${scenarios.map((s) => s.name).join(', ')}`);

  const sections = previousSections();
  for (const scenario of scenarios) {
    if (wanted.length > 0 && !wanted.includes(scenario.name)) continue;
    console.log(`bench: ${scenario.name} …`);
    const t0 = performance.now();
    const section = (await scenario.run()).trim();
    sections.set(scenario.name, `${section}\n\n_Measured ${new Date().toISOString()}._`);
    console.log(`bench: ${scenario.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  // Sections no scenario writes (results of other commands, such as bench/compare-orders.ts, pasted between the same markers) are kept, after the scenarios'.
  const names = [
    ...scenarios.map((scenario) => scenario.name).filter((name) => sections.has(name)),
    ...[...sections.keys()].filter((name) => !scenarios.some((s) => s.name === name)),
  ];
  const body = names.map((name) => `${begin(name)}\n${sections.get(name)}\n${END}`).join('\n\n');
  const command = wanted.length > 0 ? `npm run bench -- ${wanted.join(' ')}` : 'npm run bench';
  writeFileSync(
    output,
    `# Benchmarks\n\nWritten by \`${command}\` (bench/run.ts runs every bench/scenarios/*.ts) on ${started.toISOString()}.\n\n## Machine\n\n${header}\n\n${body}\n`,
  );
  console.log(`bench: wrote ${output}`);
}

main().then(
  // Scenarios close what they start; exit anyway so a stray keep-alive socket cannot hold the run open.
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
