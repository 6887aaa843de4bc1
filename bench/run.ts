/**
 * `npm run bench`: the shop against a minimal reference stack of the same shape, in one run,
 * interleaved, on one machine; every figure is also a ratio to the reference (which carries over
 * from machine to machine). See README "Performance".
 *
 *   npm run bench                       # the full run: 100,000 products, 8 s per load, 10 and 50 connections
 *   npm run bench -- --smoke            # CI's smoke: small catalog, 1 s per load, results in a temp folder
 *   npm run bench -- --seconds 5 --connections 50 --only catalog-gateway,orders
 *   npm run bench -- --event-bus nats   # events through NATS (nats://localhost:4222) instead of PostgreSQL
 *   npm run bench -- --profile          # also CPU-profile our four processes (V8's sampler, as node --cpu-prof)
 *   npm run bench -- --log-level warn --node-options=--max-semi-space-size=4   # what-ifs for our processes
 *   npm run bench -- --env CATALOG_CACHE_MB=0   # any setting of our stack (repeatable)
 *
 * BENCH_DATABASE_URL: an admin URL of a PostgreSQL server to use instead of an embedded one.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchPostgres } from './lib/databases.js';
import { committedTransactions, countOrders, describeMachine, measureSagaOneAtATime, measureStartup, waitForSaga } from './lib/extras.js';
import { runLoad, type LoadResult, type Variant } from './lib/load.js';
import { postgresPids, rssMb, watchWhile, type Usage } from './lib/processes.js';
import { checkTargets, writeResults, type BenchResults, type RunRecord, type StackName } from './lib/report.js';
import { growCatalog, registerUsers, sampleCatalog, SEARCH_TERMS } from './lib/seed.js';
import { startStacks, type Stacks } from './lib/stacks.js';
import { encodeCursor } from '../services/product/src/catalog-paging.js';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    products: { type: 'string' },
    users: { type: 'string' },
    only: { type: 'string' },
    'event-bus': { type: 'string', default: 'pg' },
    profile: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    'node-options': { type: 'string' },
    env: { type: 'string', multiple: true },
    'no-startup': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const smoke = args.smoke;
const settings = {
  seconds: Number(args.seconds ?? (smoke ? 1 : 8)),
  warmupSeconds: Number(args.warmup ?? (smoke ? 0.5 : 2)),
  connections: (args.connections ?? (smoke ? '10' : '10,50')).split(',').map(Number),
  products: Number(args.products ?? (smoke ? 2_000 : 100_000)),
  users: Number(args.users ?? (smoke ? 10 : 300)),
  eventBus: args['event-bus'] === 'nats' ? 'NATS JetStream (nats://localhost:4222)' : 'PostgreSQL queue (pg-boss, events_db)',
  logLevel: args['log-level'],
  nodeOptions: args['node-options'] ?? '',
};
/** `NAME=VALUE` of `--env`, split; anything else is a plain mistake. */
function settingOf(pair: string): [string, string] {
  const at = pair.indexOf('=');
  if (at < 1) {
    console.error(`bench: --env takes NAME=VALUE, not "${pair}"`);
    process.exit(2);
  }
  return [pair.slice(0, at), pair.slice(at + 1)];
}
// Read before anything starts, so a mistake in it stops nothing half-started.
const extraEnv = Object.fromEntries((args.env ?? []).map(settingOf));
const only = args.only ? new Set(args.only.split(',')) : undefined;
const wanted = (scenario: string) => !only || only.has(scenario);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const outDir = args.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'mini-bench-smoke-')) : join(ROOT, 'bench/results'));
mkdirSync(outDir, { recursive: true });
const profileDir = join(outDir, 'profiles');
const PROFILER = fileURLToPath(new URL('./lib/cpu-profile-preload.mjs', import.meta.url));
const log = (message: string) => process.stdout.write(`[bench] ${message}\n`);
const runId = Date.now().toString(36);

log(
  `${smoke ? 'smoke run' : 'full run'}: ${settings.products.toLocaleString('en')} products, ${settings.seconds} s per load, connections ${settings.connections.join(' and ')}`,
);
const postgres = await startBenchPostgres();
let stacks!: Stacks;
let stopped = false;
const stopAll = async () => {
  if (stopped) return;
  stopped = true;
  await stacks?.stop().catch(() => undefined);
  await postgres.stop().catch(() => undefined);
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));
try {
  stacks = await startStacks({
    postgres,
    // Not spelled as the development default (nats://127.0.0.1:4222), which production mode refuses.
    eventBusUrl: args['event-bus'] === 'nats' ? 'nats://localhost:4222' : undefined,
    env: {
      LOG_LEVEL: args['log-level'],
      NODE_OPTIONS: [args['node-options'], args.profile ? `--import=${PROFILER}` : undefined].filter(Boolean).join(' '),
      ...(args.profile ? { MINI_CPU_PROFILE_DIR: profileDir } : {}),
      // What-ifs: `--env CATALOG_CACHE_MB=0` (repeatable) reaches every process of our stack.
      ...extraEnv,
    },
    warningsFile: join(outDir, `${new Date().toISOString().slice(0, 10)}-warnings.log`),
  });
} catch (error) {
  await stopAll();
  throw error;
}
const runs: RunRecord[] = [];
const sagas: BenchResults['saga'] = {};
const commitsPerOrder: Record<string, number> = {};
const peakRssMb: Record<string, number> = {};
const pgPids = () => (postgres.postmasterPid ? postgresPids(postgres.postmasterPid) : []);

/** One measured load against one stack, with the memory and CPU of every process while it ran. */
async function measure(
  scenario: string,
  stack: StackName,
  origin: string,
  variants: Variant[],
  connections: number,
  size = settings.products,
) {
  const { result, usage } = await watchWhile(stacks.watched, { postgres: pgPids }, () =>
    runLoad({ origin, connections, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds, variants }),
  );
  record(scenario, stack, connections, size, result, usage);
  return result;
}

function record(scenario: string, stack: StackName, connections: number, products: number, load: LoadResult, usage: Usage) {
  for (const [name, mb] of Object.entries(usage.peakRssMb)) peakRssMb[name] = Math.max(peakRssMb[name] ?? 0, mb);
  runs.push({ scenario, stack, connections, products, load, usage });
  log(
    `${scenario.padEnd(20)} ${stack.padEnd(9)} c=${String(connections).padEnd(3)} ${load.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${load.p50} ms  p99 ${load.p99} ms  errors ${load.errors + load.timeouts}  non-2xx ${load.non2xx}`,
  );
}

/** The same scenario on both stacks, for every connection count, alternating which goes first. */
async function pair(
  scenario: string,
  ours: [string, Variant[]],
  reference: [string, Variant[]],
  size?: number,
  connections = settings.connections,
) {
  if (!wanted(scenario)) return;
  for (const [index, c] of connections.entries()) {
    const order: [StackName, [string, Variant[]]][] = [
      ['ours', ours],
      ['reference', reference],
    ];
    if (index % 2 === 1) order.reverse();
    for (const [stack, [origin, variants]] of order) await measure(scenario, stack, origin, variants, c, size);
  }
}

const page = [{ path: '/products?limit=20' }];
const topConnections = [Math.max(...settings.connections)];
const probeConnections = Math.min(...settings.connections);
try {
  // Fresh processes run cold code: let every one of them reach steady state before anything counts.
  log('warming up both stacks');
  await Promise.all(
    [stacks.ours.gateway, stacks.reference.gateway].map((origin) =>
      runLoad({ origin, connections: 10, seconds: smoke ? 1 : 4, warmupSeconds: 0, variants: page }),
    ),
  );
  // A page must cost the same at 1,000 and at 100,000 products: the smaller catalogs first.
  for (const size of [1_000, 10_000].filter((n) => n < settings.products)) {
    await growCatalog(stacks.ours.productDbUrl, size);
    await pair(`catalog-${size / 1000}k`, [stacks.ours.gateway, page], [stacks.reference.gateway, page], size, topConnections);
  }
  log(`growing the catalog to ${settings.products.toLocaleString('en')} products and registering ${settings.users} shoppers`);
  await growCatalog(stacks.ours.productDbUrl, settings.products);
  const users = await registerUsers(stacks.ours.gateway, settings.users, runId);
  const sample = await sampleCatalog(stacks.ours.productDbUrl, 1_000, Math.floor(settings.products * 0.9));
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const restRssMb = Object.fromEntries(stacks.watched.map(({ name, pid }) => [name, rssMb(pid) ?? 0]));

  if (wanted('bare')) for (const c of settings.connections) await measure('bare', 'bare', stacks.bare, [{ path: '/' }], c);
  await pair('catalog-gateway', [stacks.ours.gateway, page], [stacks.reference.gateway, page]);
  await pair('catalog-direct', [stacks.ours.product, page], [stacks.reference.product, page]);
  await pair(
    'catalog-deep',
    [stacks.ours.gateway, [{ path: `/products?limit=20&after=${encodeCursor(sample.deep)}` }]],
    [stacks.reference.gateway, [{ path: `/products?limit=20&after=${sample.deep.createdAt}~${sample.deep.id}` }]],
  );
  const searches = SEARCH_TERMS.map((term) => ({ path: `/products?limit=20&q=${encodeURIComponent(term)}` }));
  await pair('search', [stacks.ours.gateway, searches], [stacks.reference.gateway, searches]);
  const byId = sample.ids.map((id) => ({ path: `/products/${id}` }));
  await pair('product-by-id', [stacks.ours.gateway, byId], [stacks.reference.gateway, byId]);

  if (wanted('login')) {
    const logins = users.map(({ username, password }) => ({
      path: '/users/login',
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }));
    for (const c of settings.connections) await measure('login', 'ours', stacks.ours.gateway, logins, c);
    // Logins saturating the CPU, and a shopper browsing meanwhile: how much worse does browsing get?
    const c = topConnections[0]!;
    const both = { seconds: settings.seconds, warmupSeconds: settings.warmupSeconds };
    const { result, usage } = await watchWhile(stacks.watched, { postgres: pgPids }, () =>
      Promise.all([
        runLoad({ origin: stacks.ours.gateway, connections: c, variants: logins, ...both }),
        runLoad({ origin: stacks.ours.gateway, connections: probeConnections, variants: page, ...both }),
      ]),
    );
    record('login-saturated', 'ours', c, settings.products, result[0], usage);
    record('catalog-under-login', 'ours', probeConnections, settings.products, result[1], usage);
  }

  if (wanted('orders')) {
    const products = sample.ids.slice(0, 200);
    const oursOrders = users.map(({ token }, i) => ({
      path: '/orders',
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ productId: products[i % products.length], quantity: 1 }),
    }));
    const refOrders = users.map((_user, i) => ({
      path: '/orders',
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: crypto.randomUUID(), productId: products[i % products.length], quantity: 1 }),
    }));
    for (const [index, c] of settings.connections.entries()) {
      const order: StackName[] = index % 2 === 0 ? ['ours', 'reference'] : ['reference', 'ours'];
      for (const stack of order) {
        const orderDb = stack === 'ours' ? stacks.ours.orderDbUrl : stacks.reference.orderDbUrl;
        const [commitsBefore, ordersBefore] = [await committedTransactions(orderDb), await countOrders(orderDb)];
        const load = await measure(
          'orders',
          stack,
          stack === 'ours' ? stacks.ours.gateway : stacks.reference.gateway,
          stack === 'ours' ? oursOrders : refOrders,
          c,
        );
        // Every order placed under load must settle before the next load: its pending -> confirmed time is part of the result.
        if (stack === 'ours') sagas[`under load, ${c} connections`] = await waitForSaga(stacks.ours.orderDbUrl, load.startedAt);
        // Each commit waits for the WAL to reach the disk: what an order costs in commits, its saga included.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const placed = (await countOrders(orderDb)) - ordersBefore;
        commitsPerOrder[`${stack}, ${c} connections`] = ((await committedTransactions(orderDb)) - commitsBefore) / Math.max(1, placed);
      }
    }
    sagas['one order at a time'] = await measureSagaOneAtATime(stacks.ours.gateway, stacks.ours.adminPassword, smoke ? 20 : 100);
  }

  const machine = describeMachine(postgres.description, settings.eventBus);
  await stopAll();
  const startup = args['no-startup'] || !wanted('startup') ? undefined : await measureStartup(log);
  const results: BenchResults = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    smoke,
    machine,
    settings,
    runs,
    memory: { restMb: restRssMb, peakMb: peakRssMb },
    saga: sagas,
    commitsPerOrder,
    startup,
    logs: stacks.logs,
    targets: [],
  };
  results.targets = checkTargets(results);
  const files = await writeResults(results, outDir, args.profile ? profileDir : undefined);
  log(`results: ${files.join(', ')}`);
  // Figures are never judged here, but a failed request or an order left pending is a broken bench.
  const broken = [
    ...runs
      .filter(({ load }) => load.errors + load.timeouts + load.non2xx > 0)
      .map(({ scenario, stack, connections, load }) => `${stack} ${scenario} (c=${connections}): ${load.errors} errors, ${load.timeouts} timeouts, ${load.non2xx} non-2xx`),
    ...Object.entries(sagas)
      .filter(([, saga]) => saga.pending > 0 || saga.rejected > 0)
      .map(([when, saga]) => `orders ${when}: ${saga.pending} still pending, ${saga.rejected} rejected`),
  ];
  if (broken.length > 0) {
    log(`FAILED: ${broken.join('; ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  await stopAll();
  throw error;
}
