/**
 * `npm start` / `npm run dev`: the whole stack on one machine. An embedded
 * PostgreSQL (data under .data/) unless USER_/PRODUCT_/ORDER_DATABASE_URL
 * point elsewhere; order events through a queue in its events_db unless
 * EVENT_BUS_URL names a broker (nats://...); the four processes with prefixed logs; a demo catalog on
 * first run; Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_CATALOG } from './demo-catalog.js';
import { startLocalPostgres, type LocalPostgres } from './embedded-postgres.js';
import { createLineFormatter } from './log-format.js';
import { ROOT, SERVICES, startStack, type ServiceName, type Stack } from './stack.js';

// MINI_DATA_DIR lets the tests run the script against a throwaway folder.
const DATA_DIR = process.env.MINI_DATA_DIR || join(ROOT, '.data');
const SECRETS_FILE = join(DATA_DIR, 'local-credentials.json');
const SEEDED_MARKER = join(DATA_DIR, 'demo-catalog-seeded');

interface LocalCredentials {
  postgresPassword: string;
  adminPassword: string;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name} must be a port number, got "${raw}"`);
  return value;
}

function fail(message: string): never {
  process.stderr.write(`start: ${message}\n`);
  process.exit(1);
}

// Generated once, kept in the git-ignored data folder so restarts keep working.
function localCredentials(): LocalCredentials {
  mkdirSync(DATA_DIR, { recursive: true });
  if (existsSync(SECRETS_FILE)) return JSON.parse(readFileSync(SECRETS_FILE, 'utf8')) as LocalCredentials;
  const credentials = { postgresPassword: randomBytes(18).toString('base64url'), adminPassword: randomBytes(12).toString('base64url') };
  writeFileSync(SECRETS_FILE, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

async function seedDemoCatalog(gatewayUrl: string, admin: { username: string; password: string }): Promise<number> {
  if (existsSync(SEEDED_MARKER)) return 0;
  const listing = (await (await fetch(`${gatewayUrl}/products?limit=1`)).json()) as { total: number };
  if (listing.total > 0) {
    writeFileSync(SEEDED_MARKER, new Date().toISOString());
    return 0;
  }
  const login = await fetch(`${gatewayUrl}/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  if (!login.ok) throw new Error(`admin login failed (${login.status}): is ADMIN_PASSWORD the one the admin was created with?`);
  const { token } = (await login.json()) as { token: string };
  for (const product of DEMO_CATALOG) {
    const response = await fetch(`${gatewayUrl}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(product),
    });
    if (response.status !== 201) throw new Error(`seeding "${product.name}" failed: ${response.status} ${await response.text()}`);
  }
  writeFileSync(SEEDED_MARKER, new Date().toISOString());
  return DEMO_CATALOG.length;
}

async function main() {
  const dev = process.argv.includes('--dev');
  const mode = dev ? 'watch' : process.argv.includes('--source') ? 'source' : 'built';
  const startedAt = Date.now();
  const credentials = localCredentials();
  const admin = {
    username: process.env.ADMIN_USERNAME || 'admin',
    password: process.env.ADMIN_PASSWORD || credentials.adminPassword,
  };
  const ports: Record<ServiceName, number> = {
    user: envNumber('USER_SERVICE_PORT', 3001),
    product: envNumber('PRODUCT_SERVICE_PORT', 3002),
    order: envNumber('ORDER_SERVICE_PORT', 3003),
    gateway: envNumber('GATEWAY_PORT', 8080),
  };

  const external = {
    user: process.env.USER_DATABASE_URL,
    product: process.env.PRODUCT_DATABASE_URL,
    order: process.env.ORDER_DATABASE_URL,
    events: process.env.EVENT_BUS_URL,
  };
  let postgres: LocalPostgres | undefined;
  if (!external.user || !external.product || !external.order || !external.events) {
    const port = envNumber('EMBEDDED_POSTGRES_PORT', 54329);
    process.stdout.write(`[start] embedded PostgreSQL on 127.0.0.1:${port}, data in ${join(DATA_DIR, 'postgres')}\n`);
    postgres = await startLocalPostgres({ dataDir: join(DATA_DIR, 'postgres'), port, password: credentials.postgresPassword });
  }
  const databaseUrls = {
    user: external.user || (await postgres!.database('user_db')),
    product: external.product || (await postgres!.database('product_db')),
    order: external.order || (await postgres!.database('order_db')),
  };
  // No extra server: the events go through a PostgreSQL-backed queue in its own database.
  const eventBusUrl = external.events || (await postgres!.database('events_db'));

  const format = createLineFormatter([...SERVICES]);
  let stack: Stack | undefined = undefined;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    process.stdout.write('\n[start] stopping...\n');
    await stack?.stop();
    await postgres?.stop();
    process.stdout.write('[start] stopped\n');
    process.exit(code);
  };
  // This script stops the services first, then PostgreSQL (importEmbeddedPostgres took the
  // library's own exit hooks away).
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  stack = startStack({
    ports,
    databaseUrls,
    eventBus: { url: eventBusUrl },
    admin,
    mode,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    onLine: (service, line) => process.stdout.write(`${format(service, line)}\n`),
    onExit: (service, code, signal) => {
      if (dev) return; // tsx watch restarts on the next change
      process.stderr.write(`[start] ${service} exited (${signal ?? code}); stopping the stack\n`);
      void shutdown(1);
    },
  });

  try {
    await stack.waitUntilReady(90_000);
  } catch (error) {
    process.stderr.write(`[start] ${(error as Error).message}\n`);
    await shutdown(1);
    return;
  }
  const seeded = await seedDemoCatalog(stack.gatewayUrl, admin).catch((error: Error) => {
    process.stderr.write(`[start] demo catalog not seeded: ${error.message}\n`);
    return 0;
  });
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const passwordNote = process.env.ADMIN_PASSWORD ? '(from ADMIN_PASSWORD)' : '(generated once, kept in .data/local-credentials.json)';
  process.stdout.write(
    [
      '',
      `  Mini eCommerce is ready in ${seconds}s${seeded ? `; demo catalog seeded with ${seeded} products` : ''}`,
      `  Gateway:   ${stack.gatewayUrl}`,
      `  API docs:  ${stack.gatewayUrl}/docs`,
      `  Admin:     ${admin.username} / ${admin.password}  ${passwordNote}`,
      `  Stop with Ctrl-C.`,
      '',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : `start-up failed: ${String(error)}`));
