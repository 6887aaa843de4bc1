import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine, SagaLatency, Startup } from './extras.js';
import type { LoadResult } from './load.js';
import type { Usage } from './processes.js';
import { summarizeProfiles } from './profile-summary.js';
import type { LogTally } from './stacks.js';
import { renderChart } from './chart.js';

export type StackName = 'ours' | 'reference' | 'bare';

export interface RunRecord {
  scenario: string;
  stack: StackName;
  connections: number;
  /** Catalog size while it ran. */
  products: number;
  load: LoadResult;
  usage: Usage;
}

export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

export interface BenchResults {
  date: string;
  command: string;
  smoke: boolean;
  machine: Machine;
  settings: {
    seconds: number;
    warmupSeconds: number;
    connections: number[];
    products: number;
    users: number;
    eventBus: string;
    logLevel: string;
    nodeOptions: string;
  };
  runs: RunRecord[];
  memory: { restMb: Record<string, number>; peakMb: Record<string, number> };
  saga: Record<string, SagaLatency>;
  /** Database commits per order placed (its saga included), all databases of the server together. */
  commitsPerOrder: Record<string, number>;
  startup: Startup | undefined;
  logs: LogTally;
  targets: TargetCheck[];
}

/** What each scenario is, in the order the tables show them. */
export const SCENARIOS: Record<string, string> = {
  bare: 'bare node:http, small JSON (calibration)',
  'catalog-gateway': 'GET /products?limit=20 via gateway',
  'catalog-direct': 'GET /products?limit=20 straight to the product service',
  'catalog-deep': 'GET /products, a page 90% deep (cursor) via gateway',
  search: 'GET /products?q= (8 terms, ~300 matches each) via gateway',
  'product-by-id': 'GET /products/:id (1,000 ids) via gateway',
  orders: 'POST /orders via gateway (ours: auth, product check, events)',
  login: 'POST /users/login (argon2id) via gateway',
  'login-saturated': 'POST /users/login while a shopper browses',
  'catalog-under-login': 'GET /products?limit=20 while logins saturate',
  'catalog-1k': 'GET /products?limit=20 via gateway, 1,000 products',
  'catalog-10k': 'GET /products?limit=20 via gateway, 10,000 products',
};
const OUR_PROCESSES = ['gateway', 'user', 'product', 'order'];

const STACK_PROCESSES: Record<StackName, string[]> = {
  ours: ['gateway', 'user', 'product', 'order', 'postgres'],
  reference: ['ref gateway', 'ref product', 'ref order', 'postgres'],
  bare: ['bare http'],
};

/**
 * CPU milliseconds one request cost the whole stack (its processes and PostgreSQL, not the load
 * generator): unlike req/s, this hardly moves when other work shares the machine.
 */
export function cpuMsPerRequest(run: RunRecord): number {
  const busy = STACK_PROCESSES[run.stack].reduce((sum, name) => sum + (run.usage.cpuSeconds[name] ?? 0), 0);
  return (1000 * busy) / run.usage.wallSeconds / Math.max(1, run.load.rps);
}

export const find = (results: BenchResults, scenario: string, stack: StackName, connections?: number) =>
  results.runs.find(
    (run) => run.scenario === scenario && run.stack === stack && (connections === undefined || run.connections === connections),
  );

const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
const x = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(2)}x`);

/** Each target of the issue, checked against this run (at the highest connection count measured). */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const c = Math.max(...results.settings.connections);
  const rps = (scenario: string, stack: StackName, connections = c) => find(results, scenario, stack, connections)?.load.rps;
  const p99 = (scenario: string, stack: StackName, connections = c) => find(results, scenario, stack, connections)?.load.p99;
  const checks: TargetCheck[] = [];
  const atLeast = (target: string, value: number | undefined, goal: number, unit = 'x') =>
    checks.push({
      target,
      goal: `>= ${goal}${unit}`,
      measured: value === undefined ? 'not measured' : unit === 'x' ? x(value) : `${fmt(value)}${unit}`,
      met: value === undefined ? undefined : value >= goal,
    });
  atLeast(
    `catalog page via gateway vs reference (c=${c})`,
    ratio(rps('catalog-gateway', 'ours'), rps('catalog-gateway', 'reference')),
    1.0,
  );
  atLeast(`product by id vs reference (c=${c})`, ratio(rps('product-by-id', 'ours'), rps('product-by-id', 'reference')), 0.9);
  atLeast(`POST /orders with events vs reference (c=${c})`, ratio(rps('orders', 'ours'), rps('orders', 'reference')), 0.7);
  const ordersP99 = ratio(p99('orders', 'ours'), p99('orders', 'reference'));
  checks.push({
    target: `POST /orders p99 vs reference (c=${c})`,
    goal: '<= 2x',
    measured: ordersP99 === undefined ? 'not measured' : `${x(ordersP99)} (${p99('orders', 'ours')} vs ${p99('orders', 'reference')} ms)`,
    met: ordersP99 === undefined ? undefined : ordersP99 <= 2,
  });
  atLeast(
    `gateway hop: catalog via gateway vs direct, ours (c=${c})`,
    ratio(rps('catalog-gateway', 'ours'), rps('catalog-direct', 'ours')),
    0.6,
  );
  const small = find(results, 'catalog-1k', 'ours');
  atLeast(
    `catalog page at ${fmt(results.settings.products)} vs at 1,000 products, ours (c=${small?.connections ?? c})`,
    ratio(rps('catalog-gateway', 'ours', small?.connections), small?.load.rps),
    0.8,
  );
  atLeast('logins per second while saturated', find(results, 'login-saturated', 'ours')?.load.rps, 150, '/s');
  const browsing = find(results, 'catalog-under-login', 'ours');
  const unloaded = browsing && find(results, 'catalog-gateway', 'ours', browsing.connections);
  const slowdown = ratio(browsing?.load.p99, unloaded?.load.p99);
  checks.push({
    target: `GET /products p99 while logins saturate vs unloaded (c=${browsing?.connections ?? '?'})`,
    goal: '<= 2x',
    measured: slowdown === undefined ? 'not measured' : `${x(slowdown)} (${browsing?.load.p99} vs ${unloaded?.load.p99} ms)`,
    met: slowdown === undefined ? undefined : slowdown <= 2,
  });
  const memory = (values: Record<string, number>, limit: number, what: string) => {
    const worst = OUR_PROCESSES.map((name) => [name, values[name] ?? 0] as const).sort((a, b) => b[1] - a[1])[0]!;
    checks.push({
      target: `every process resident ${what}`,
      goal: `<= ${limit} MB`,
      measured: `${fmt(worst[1])} MB (${worst[0]})`,
      met: worst[1] <= limit,
    });
  };
  memory(results.memory.restMb, 120, 'at rest');
  memory(results.memory.peakMb, 160, 'under load');
  const startup = results.startup?.existingDataSeconds;
  checks.push({
    target: '`npm start` ready with existing data',
    goal: '<= 10 s',
    measured: startup === undefined ? 'not measured' : `${startup} s`,
    met: startup === undefined ? undefined : startup <= 10,
  });
  return checks;
}

function markdown(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    `# Benchmark ${results.date.slice(0, 10)}${results.smoke ? ' (smoke run: figures not meaningful)' : ''}`,
    '',
    `\`${results.command}\` on ${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}; ` +
      `${machine.postgres}; events: ${machine.eventBus}; load: ${machine.loadGenerator}. ` +
      `${fmt(settings.products)} products, ${settings.users} shoppers, ${settings.seconds} s per load after ${settings.warmupSeconds} s of warm-up, ` +
      `ours and the reference interleaved; our processes at LOG_LEVEL=${settings.logLevel}${settings.nodeOptions ? `, NODE_OPTIONS=${settings.nodeOptions}` : ''}.`,
    '',
    '| scenario | conn. | ours req/s | reference req/s | ratio | ours p50 / p99 ms | reference p50 / p99 ms | CPU ms per request, ours / ref | errors + non-2xx (ours / ref) |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const [scenario, title] of Object.entries(SCENARIOS)) {
    for (const c of [...new Set(results.runs.filter((run) => run.scenario === scenario).map((run) => run.connections))]) {
      const ours = find(results, scenario, scenario === 'bare' ? 'bare' : 'ours', c);
      const ref = find(results, scenario, 'reference', c);
      const bad = (run: RunRecord | undefined) => (run ? String(run.load.errors + run.load.timeouts + run.load.non2xx) : '-');
      lines.push(
        `| ${title} | ${c} | ${ours ? fmt(ours.load.rps) : '-'} | ${ref ? fmt(ref.load.rps) : '-'} | ${ref ? x(ratio(ours?.load.rps, ref.load.rps)) : '-'} | ` +
          `${ours ? `${ours.load.p50} / ${ours.load.p99}` : '-'} | ${ref ? `${ref.load.p50} / ${ref.load.p99}` : '-'} | ` +
          `${ours ? cpuMsPerRequest(ours).toFixed(2) : '-'} / ${ref ? cpuMsPerRequest(ref).toFixed(2) : '-'} | ${bad(ours)} / ${bad(ref)} |`,
      );
    }
  }
  lines.push('', '## Targets', '', '| target | goal | measured | met |', '| --- | --- | --- | --- |');
  for (const t of results.targets)
    lines.push(`| ${t.target} | ${t.goal} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  lines.push(
    '',
    '## Order saga: pending -> confirmed',
    '',
    '| when | orders | confirmed | rejected | still pending | p50 ms | p99 ms | max ms |',
    '| --- | --: | --: | --: | --: | --: | --: | --: |',
  );
  for (const [when, s] of Object.entries(results.saga)) {
    lines.push(
      `| ${when} | ${s.orders} | ${s.confirmed} | ${s.rejected} | ${s.pending} | ${fmt(s.p50Ms)} | ${fmt(s.p99Ms)} | ${fmt(s.maxMs)} |`,
    );
  }
  if (Object.keys(results.commitsPerOrder).length > 0) {
    const each = Object.entries(results.commitsPerOrder).map(([when, n]) => `${when}: ${n.toFixed(1)}`);
    lines.push('', `Database commits per order placed (its saga included; each waits for a WAL flush): ${each.join('; ')}.`);
  }
  lines.push('', '## Resident memory (MB)', '', '| process | at rest | peak under load |', '| --- | --: | --: |');
  for (const name of Object.keys(results.memory.peakMb)) {
    lines.push(`| ${name} | ${fmt(results.memory.restMb[name] ?? 0)} | ${fmt(results.memory.peakMb[name] ?? 0)} |`);
  }
  const c = Math.max(...settings.connections);
  const split = ['gateway', 'product', 'order', 'user', 'postgres', 'ref gateway', 'ref product', 'ref order'];
  lines.push('', `## Where the CPU went (cores busy, c=${c}; 2 cores in all, the load generator included)`, '');
  lines.push(`| scenario | stack | ${split.join(' | ')} | load generator |`, `| --- | --- | ${split.map(() => '--:').join(' | ')} | --: |`);
  for (const run of results.runs.filter((r) => r.connections === c && r.stack !== 'bare')) {
    const cores = (seconds: number | undefined, wall: number) => (seconds && seconds / wall >= 0.005 ? (seconds / wall).toFixed(2) : '-');
    const wall = run.usage.wallSeconds;
    lines.push(
      `| ${run.scenario} | ${run.stack} | ${split.map((name) => cores(run.usage.cpuSeconds[name], wall)).join(' | ')} | ${cores(run.load.cpuSeconds, run.load.seconds)} |`,
    );
  }
  if (results.startup) {
    lines.push(
      '',
      `\`npm start\`: ready in ${results.startup.firstRunSeconds} s on an empty data folder, ${results.startup.existingDataSeconds} s with existing data.`,
    );
  }
  const counts = Object.entries(results.logs.lines).map(
    ([service, levels]) =>
      `${service} ${Object.entries(levels)
        .map(([l, n]) => `${l} ${fmt(n)}`)
        .join(', ')}`,
  );
  lines.push('', `Log lines printed by our stack: ${counts.join('; ')}; client aborts logged: ${results.logs.clientAborts}.`);
  if (results.logs.samples.length > 0) lines.push('', 'First warnings or worse:', '', ...results.logs.samples.map((s) => `    ${s}`));
  return `${lines.join('\n')}\n`;
}

/** Writes `<date>.json`, `<date>.md` and `<date>.svg` (and a profile summary) into `dir`; returns their paths. */
export async function writeResults(results: BenchResults, dir: string, profileDir?: string): Promise<string[]> {
  const stem = join(dir, results.date.slice(0, 10));
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${stem}.svg`, renderChart(results));
  let md = markdown(results);
  if (profileDir) md += `\n${await summarizeProfiles(profileDir)}`;
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(`\n${md}\n`);
  return [`${stem}.json`, `${stem}.md`, `${stem}.svg`];
}
