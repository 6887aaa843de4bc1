import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../packages/shared/src/testing/postgres.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  postgres: string;
  eventBus: string;
  loadGenerator: string;
}

export function describeMachine(postgres: string, eventBus: string): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${process.platform} ${release()}`,
    postgres,
    eventBus,
    loadGenerator: 'autocannon 9 (one process, on the same machine)',
  };
}

/** pending -> confirmed, from the orders' own timestamps (both stamped by the order database). */
export interface SagaLatency {
  orders: number;
  confirmed: number;
  rejected: number;
  /** Still pending when the bench stopped waiting (0 expected). */
  pending: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How long the last of them took to settle after the load stopped. */
  drainMs?: number;
}

/** Waits until every order placed since `since` has left `pending` (at most 2 minutes), then measures them. */
export async function waitForSaga(orderDbUrl: string, since: string): Promise<SagaLatency> {
  const client = new pg.Client({ connectionString: orderDbUrl });
  await client.connect();
  const started = Date.now();
  try {
    for (;;) {
      const { rows } = await client.query<{ pending: number }>(
        "SELECT count(*)::int AS pending FROM orders WHERE created_at >= $1 AND status = 'pending'",
        [since],
      );
      if (rows[0]!.pending === 0 || Date.now() - started > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows } = await client.query<Omit<SagaLatency, 'drainMs'>>(
      `SELECT count(*)::int AS orders,
              count(*) FILTER (WHERE status = 'confirmed')::int AS confirmed,
              count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
              count(*) FILTER (WHERE status = 'pending')::int AS pending,
              coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) FILTER (WHERE status = 'confirmed'), 0)::float8 AS "p50Ms",
              coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY waited) FILTER (WHERE status = 'confirmed'), 0)::float8 AS "p99Ms",
              coalesce(max(waited) FILTER (WHERE status = 'confirmed'), 0)::float8 AS "maxMs"
       FROM (SELECT status, extract(epoch FROM updated_at - created_at) * 1000 AS waited FROM orders WHERE created_at >= $1) AS placed`,
      [since],
    );
    return { ...rows[0]!, drainMs: Date.now() - started };
  } finally {
    await client.end();
  }
}

/** bench/saga-latency.ts against our gateway: `orders` orders placed one after another, each timed. */
export async function measureSagaOneAtATime(gatewayUrl: string, adminPassword: string, orders: number): Promise<SagaLatency> {
  const script = fileURLToPath(new URL('../saga-latency.ts', import.meta.url));
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--orders', String(orders), '--concurrency', '1'], {
      env: { ...process.env, GATEWAY_URL: gatewayUrl, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: adminPassword },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`saga-latency.ts exited with ${code}`))));
  });
  const match = /over (\d+) orders: median (\d+) ms, p99 (\d+) ms, max (\d+) ms/.exec(output);
  if (!match) throw new Error(`saga-latency.ts printed: ${output}`);
  const [count = 0, p50 = 0, p99 = 0, max = 0] = match.slice(1).map(Number);
  return { orders: count, confirmed: count, rejected: 0, pending: 0, p50Ms: p50, p99Ms: p99, maxMs: max };
}

export interface Startup {
  /** `npm start`'s own "ready in" on an empty data folder (initdb, migrations, demo catalog). */
  firstRunSeconds: number;
  /** The same with the data it left: what a developer waits for every day. */
  existingDataSeconds: number;
}

/** Runs `npm start` (the built stack, as `tsx scripts/start.ts`) twice on a temporary data folder and reads its "ready in". */
export async function measureStartup(log: (message: string) => void): Promise<Startup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mini-bench-start-'));
  // The embedded PostgreSQL may run as another user (as root: "postgres"), who must reach its folder.
  await chmod(dataDir, 0o755);
  try {
    const first = await startOnce(dataDir);
    log(`npm start, empty data folder: ready in ${first} s`);
    const again = await startOnce(dataDir);
    log(`npm start, existing data: ready in ${again} s`);
    return { firstRunSeconds: first, existingDataSeconds: again };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function startOnce(dataDir: string): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MINI_DATA_DIR: dataDir,
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    GATEWAY_PORT: String(await freePort()),
    USER_SERVICE_PORT: String(await freePort()),
    PRODUCT_SERVICE_PORT: String(await freePort()),
    ORDER_SERVICE_PORT: String(await freePort()),
  };
  for (const name of ['USER_DATABASE_URL', 'PRODUCT_DATABASE_URL', 'ORDER_DATABASE_URL', 'EVENT_BUS_URL', 'NODE_OPTIONS']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start was not ready within 120 s')), 120_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const match = /ready in ([\d.]+)s/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      let errors = '';
      child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready: ${errors.trim().slice(-600)}`)));
    });
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

/** Transactions committed so far in every database of the server (`pg_stat_database`, about a second behind). */
export async function committedTransactions(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT sum(xact_commit) AS n FROM pg_stat_database');
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** How many orders the `orders` table of the database at `url` holds. */
export async function countOrders(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}
