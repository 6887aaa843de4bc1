import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { freePort } from '../../packages/shared/src/testing/postgres.js';
import { startStack, type ServiceName, type Stack } from '../../scripts/stack.js';
import type { BenchPostgres } from './databases.js';
import { startReference, type Watched } from './processes.js';

/** What every line the stack printed came to: counts per service and level, and the first few warnings or worse. */
export interface LogTally {
  lines: Record<string, Record<string, number>>;
  clientAborts: number;
  samples: string[];
}

const LEVELS: Record<string, string> = { '10': 'trace', '20': 'debug', '30': 'info', '40': 'warn', '50': 'error', '60': 'fatal' };

export interface Stacks {
  ours: { gateway: string; product: string; stack: Stack; adminPassword: string; orderDbUrl: string; productDbUrl: string };
  reference: { gateway: string; product: string; orderDbUrl: string };
  bare: string;
  /** Every process both stacks run, for memory and CPU. */
  watched: Watched[];
  logs: LogTally;
  stop(): Promise<void>;
}

/**
 * Our stack in production mode (built JS, NODE_ENV=production, the default log level) and the
 * reference stack beside it, on fresh databases of one PostgreSQL; plus the bare calibration server.
 * The reference product service reads our product_db: both stacks serve the very same rows.
 */
// Every load-generator connection comes from 127.0.0.1, and the reference has no limits: the
// bench measures the work a request costs, not the limiter's refusals.
const NO_RATE_LIMITS = {
  RATE_LIMIT_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME: '0',
  RATE_LIMIT_REGISTER_PER_MINUTE: '0',
};

export async function startStacks({
  postgres,
  eventBusUrl,
  env,
  warningsFile,
}: {
  postgres: BenchPostgres;
  eventBusUrl: string | undefined;
  env: Record<string, string>;
  /** Where every warning or worse our stack logs is written (the first 1,000 of them). */
  warningsFile: string;
}): Promise<Stacks> {
  const databaseUrls = {
    user: await postgres.database('user_db'),
    product: await postgres.database('product_db'),
    order: await postgres.database('order_db'),
  };
  const events = eventBusUrl ?? (await postgres.database('events_db'));
  const referenceOrderDb = await postgres.database('reference_order_db');
  const ports = { user: await freePort(), product: await freePort(), order: await freePort(), gateway: await freePort() };
  const adminPassword = randomBytes(12).toString('base64url');
  const logs: LogTally = { lines: {}, clientAborts: 0, samples: [] };
  let warnings = 0;
  writeFileSync(warningsFile, '');
  const stack = startStack({
    ports,
    databaseUrls,
    eventBus: { url: events, namespace: eventBusUrl ? `bench_${Date.now()}` : 'events' },
    admin: { username: 'admin', password: adminPassword },
    mode: 'built',
    env: { NODE_ENV: 'production', LOG_LEVEL: 'info', ...NO_RATE_LIMITS, ...env },
    onLine: (service, line) => {
      if (tally(logs, service, line) && warnings < 1_000) {
        warnings += 1;
        appendFileSync(warningsFile, `${service}: ${line}\n`);
      }
    },
    onExit: (service, code, signal) => process.stderr.write(`[bench] ${service} exited (${signal ?? code})\n`),
  });
  const children: ChildProcess[] = [];
  try {
    await stack.waitUntilReady(90_000);
    const refPorts = { product: await freePort(), order: await freePort(), gateway: await freePort(), bare: await freePort() };
    const url = (port: number) => `http://127.0.0.1:${port}`;
    children.push(await startReference('product', refPorts.product, { DATABASE_URL: databaseUrls.product }));
    children.push(await startReference('order', refPorts.order, { DATABASE_URL: referenceOrderDb, PRODUCT_URL: url(refPorts.product) }));
    children.push(
      await startReference('gateway', refPorts.gateway, { PRODUCT_URL: url(refPorts.product), ORDER_URL: url(refPorts.order) }),
    );
    children.push(await startReference('bare', refPorts.bare, {}));
    const [refProduct, refOrder, refGateway, bare] = children;
    const watched: Watched[] = [
      ...stack.processes.map(({ service, child }) => ({ name: service, pid: child.pid! })),
      { name: 'ref gateway', pid: refGateway!.pid! },
      { name: 'ref product', pid: refProduct!.pid! },
      { name: 'ref order', pid: refOrder!.pid! },
      { name: 'bare http', pid: bare!.pid! },
    ];
    return {
      ours: {
        gateway: stack.gatewayUrl,
        product: stack.urls.product,
        stack,
        adminPassword,
        orderDbUrl: databaseUrls.order,
        productDbUrl: databaseUrls.product,
      },
      reference: { gateway: url(refPorts.gateway), product: url(refPorts.product), orderDbUrl: referenceOrderDb },
      bare: url(refPorts.bare),
      watched,
      logs,
      stop: async () => {
        for (const child of children) child.kill('SIGTERM');
        await stack.stop();
      },
    };
  } catch (error) {
    for (const child of children) child.kill('SIGTERM');
    await stack.stop();
    throw error;
  }
}

/** Counts one line; true when it is a warning or worse. */
function tally(logs: LogTally, service: ServiceName, line: string): boolean {
  const level = /^\{"level":(\d+)/.exec(line)?.[1];
  const name = level ? (LEVELS[level] ?? level) : 'other';
  const counts = (logs.lines[service] ??= {});
  counts[name] = (counts[name] ?? 0) + 1;
  if (line.includes('client aborted')) logs.clientAborts += 1;
  const serious = name === 'warn' || name === 'error' || name === 'fatal' || name === 'other';
  if (serious && logs.samples.length < 8) logs.samples.push(`${service}: ${line.slice(0, 400)}`);
  return serious;
}
