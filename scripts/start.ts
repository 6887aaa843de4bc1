/**
 * `npm start` / `npm run dev`: the whole stack on one machine. An embedded PostgreSQL (data
 * under .data/) unless USER_/PRODUCT_/ORDER_DATABASE_URL point elsewhere; order events through a
 * queue in its events_db unless EVENT_BUS_URL names a broker (nats://...); the four processes
 * with prefixed logs, each restarted with back-off if it dies; a demo catalog on first run;
 * Ctrl-C stops everything. Every mistake a user can make is found before anything starts and
 * told in one line. `--dev` runs the sources and reloads a service when its files change.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './cli.js';
import { DEMO_CATALOG } from './demo-catalog.js';
import { watchSources, type SourceWatcher } from './dev-watch.js';
import { localDatabaseUrl, postgresAccessMessage, startLocalPostgres, type LocalPostgres } from './embedded-postgres.js';
import {
  CREDENTIALS_FILE,
  DATA_DIR,
  ensureCredentials,
  isAlive,
  isOrphanedPostgres,
  leftoverChildren,
  lockDataDir,
  POSTGRES_DIR,
  runningPostgres,
  SEEDED_MARKER,
  shown,
} from './local-data.js';
import { createLineFormatter } from './log-format.js';
import {
  checkPortsFree,
  checkServiceSettings,
  commandStartedAt,
  PORT_VARIABLES,
  readAdmin,
  readNodeEnv,
  readPorts,
  type StackSettings,
} from './start-checks.js';
import { ROOT, SERVICES, startStack, type RestartEvent, type ServiceName, type Stack, type StackOptions } from './stack.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
// Set once the processes run: a failure from then on stops them (and PostgreSQL) before exiting.
let stopAll: ((code: number) => Promise<void>) | undefined;
const warn = (line: string) => process.stderr.write(`${line}\n`);

async function main() {
  // Output closed under us (a pipe whose reader left): keep going, and still stop everything in order.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const startedAt = commandStartedAt();
  const dev = process.argv.includes('--dev');
  const mode = dev || process.argv.includes('--source') ? 'source' : 'built';
  const command = dev ? 'npm run dev' : 'npm start';
  const env = process.env;

  // 1. Settings that need nothing running: one line for the first mistake.
  const external = {
    user: env.USER_DATABASE_URL,
    product: env.PRODUCT_DATABASE_URL,
    order: env.ORDER_DATABASE_URL,
    events: env.EVENT_BUS_URL,
  };
  const embedded = !external.user || !external.product || !external.order || !external.events;
  const ports = readPorts(env, { postgres: embedded });
  const nodeEnv = readNodeEnv(env);

  // 2. The data folder: nobody else may be using it; whatever a killed npm start left, goes.
  const lock = lockDataDir(command);
  const credentials = ensureCredentials();
  const admin = readAdmin(env, credentials.adminPassword);
  const leftovers = leftoverChildren(lock.stale);
  if (leftovers.length > 0) {
    say(`[start] stopping ${leftovers.length} processes an earlier ${lock.stale!.command} left running (pids ${leftovers.join(', ')})`);
    for (const pid of leftovers) process.kill(pid, 'SIGTERM');
    for (let waited = 0; leftovers.some(isAlive) && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    for (const pid of leftovers.filter(isAlive)) process.kill(pid, 'SIGKILL');
  }
  if (embedded) {
    const access = await postgresAccessMessage(POSTGRES_DIR);
    if (access) throw new UserError(access);
    const leftover = runningPostgres();
    if (leftover && isOrphanedPostgres(leftover.pid)) {
      say(`[start] stopping the PostgreSQL an earlier ${command} left running (pid ${leftover.pid})`);
      process.kill(leftover.pid, 'SIGINT');
      for (let waited = 0; runningPostgres() && waited < 15_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    } else if (leftover) {
      throw new UserError(`the PostgreSQL in ${shown(POSTGRES_DIR)} is already running (pid ${leftover.pid}): stop it first`);
    }
  }
  await checkPortsFree({
    gateway: ports.gateway,
    user: ports.user,
    product: ports.product,
    order: ports.order,
    ...(embedded ? { postgres: ports.postgres } : {}),
  });

  const local = { port: ports.postgres, password: credentials.postgresPassword };
  const settings: StackSettings & Pick<StackOptions, 'signingKeyEncryptionKey'> = {
    ports: { user: ports.user, product: ports.product, order: ports.order, gateway: ports.gateway },
    databaseUrls: {
      user: external.user || localDatabaseUrl(local, 'user_db'),
      product: external.product || localDatabaseUrl(local, 'product_db'),
      order: external.order || localDatabaseUrl(local, 'order_db'),
    },
    // No extra server: the events go through a PostgreSQL-backed queue in its own database.
    eventBus: { url: external.events || localDatabaseUrl(local, 'events_db') },
    admin,
    // Generated for this install (kept with the credentials) unless the shell sets one.
    signingKeyEncryptionKey: env.SIGNING_KEY_ENCRYPTION_KEY || credentials.signingKeyEncryptionKey,
    env: { LOG_LEVEL: env.LOG_LEVEL || 'info', NODE_ENV: nodeEnv },
  };

  // 3. Every service's settings, the build and PostgreSQL side by side; the services start only once all three are done.
  let postgres: LocalPostgres | undefined;
  let buildSeconds = 0;
  const postgresReady = embedded
    ? (async () => {
        postgres = await startLocalPostgres({ dataDir: POSTGRES_DIR, port: ports.postgres, password: credentials.postgresPassword });
        await postgres.databases(['user_db', 'product_db', 'order_db', 'events_db']);
      })()
    : Promise.resolve();
  const built =
    mode === 'built'
      ? build().then((seconds) => {
          buildSeconds = seconds;
        })
      : Promise.resolve();
  const results = await Promise.allSettled([checkServiceSettings(settings), built, postgresReady]);
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await postgresReady.catch(() => undefined);
    await postgres?.stop();
    throw failure.reason;
  }
  if (embedded) say(`[start] embedded PostgreSQL on 127.0.0.1:${ports.postgres}, data in ${shown(POSTGRES_DIR)}`);

  // 4. The processes, kept running.
  const format = createLineFormatter([...SERVICES]);
  const lastError: Partial<Record<ServiceName, string>> = {};
  let stack: Stack | undefined = undefined;
  let watcher: SourceWatcher | undefined;
  let ready = false;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`\n[start] stopping...`);
    await watcher?.close();
    await stack?.stop();
    await postgres?.stop();
    lock.release();
    say('[start] stopped');
    process.exit(code);
  };
  stopAll = shutdown;
  let interrupts = 0;
  const onSignal = () => {
    // A second Ctrl-C while stopping: do not wait any longer.
    if (++interrupts > 1) {
      for (const { child } of stack?.processes ?? []) child.kill('SIGKILL');
      process.exit(130);
    }
    void shutdown(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  stack = startStack({
    ...settings,
    mode,
    // Only this script gets the terminal's Ctrl-C; it stops the services first, then PostgreSQL.
    detached: true,
    onLine: (service, line, stream) => {
      if (stream === 'stderr' && line.trim()) lastError[service] = line.trim();
      say(format(service, line));
    },
    restart: {},
    onRestart: (event) => onRestart(event),
  });
  const recordChildren = () => lock.recordChildren(stack.processes.flatMap(({ child }) => (child.pid ? [child.pid] : [])));
  recordChildren();
  function onRestart(event: RestartEvent) {
    if (shuttingDown) return;
    if (event.type === 'recovered') recordChildren();
    if (event.type === 'restarting' && ready) {
      warn(
        `[start] ${event.service} stopped (${event.reason}); restarting it in ${event.delayMs < 1000 ? `${event.delayMs} ms` : seconds(event.delayMs)} (restart ${event.attempt} of 5), the others keep serving`,
      );
    } else if (event.type === 'recovered') {
      say(`[start] ${event.service} is back (restart ${event.attempt}, ready after ${seconds(event.readyAfterMs)})`);
    } else if (event.type === 'gave-up' && dev) {
      warn(
        `[start] ${event.service} keeps crashing (${event.reason}, ${event.attempts} restarts in a row): it starts again when you save a change`,
      );
    } else if (event.type === 'gave-up') {
      warn(
        `[start] ${event.service} keeps crashing (${event.reason}, ${event.attempts} restarts in a row); stopping the stack: its last lines are above`,
      );
      void shutdown(1);
    }
  }

  try {
    await stack.waitUntilReady(90_000);
  } catch (error) {
    const service = SERVICES.find((name) => (error as Error).message.startsWith(`${name} `));
    const reason = service && lastError[service] ? `: ${explainServiceError(service, lastError[service])}` : '';
    warn(`start: ${service ?? 'a service'} did not start${reason || ` (${(error as Error).message})`}`);
    await shutdown(1);
    return;
  }
  ready = true;
  if (dev) watcher = await watchForReloads(stack, recordChildren);

  // 5. The admin account and the demo catalog, then the banner.
  const signIn = await signInAsAdmin(stack.gatewayUrl, admin).catch((error: Error) => {
    warn(`[start] could not sign in as the admin to check its password: ${error.message}`);
    return { token: undefined };
  });
  const seeded = signIn.token
    ? await seedDemoCatalog(stack.gatewayUrl, signIn.token).catch((error: Error) => {
        warn(`[start] demo catalog not seeded: ${error.message}`);
        return 0;
      })
    : 0;
  const elapsed = seconds(Date.now() - startedAt);
  const passwordNote = admin.fromEnv ? '(from ADMIN_PASSWORD)' : `(generated once, kept in ${shown(CREDENTIALS_FILE)})`;
  say(
    [
      '',
      `  Mini eCommerce is ready in ${elapsed} from the command${buildSeconds ? ` (build ${seconds(buildSeconds * 1000)})` : ''}${seeded ? `; demo catalog seeded with ${seeded} products` : ''}`,
      `  Gateway:   ${stack.gatewayUrl}`,
      `  API docs:  ${stack.gatewayUrl}/docs`,
      signIn.token
        ? `  Admin:     ${admin.username} / ${admin.password}  ${passwordNote}`
        : `  Admin:     ${admin.username} (see the line above)`,
      ...(nodeEnv === 'development' ? [] : [`  Mode:      NODE_ENV=${nodeEnv} (no development defaults)`]),
      `  Data:      ${shown(DATA_DIR)} (start afresh: npm run data:reset)`,
      dev ? `  Reloads a service when its files change. Stop with Ctrl-C.` : `  Stop with Ctrl-C.`,
      '',
      '',
    ].join('\n'),
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** A service's own start-up line, with the variable npm start reads instead of the service's PORT. */
function explainServiceError(service: ServiceName, line: string): string {
  return line.replace(/set PORT to another port/, `set ${PORT_VARIABLES[service]} to another port`);
}

/** `tsc -b`: compiles only what changed since the last build (a no-op build takes well under a second). */
function build(): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      if (code === 0) return resolve((Date.now() - started) / 1000);
      process.stderr.write(output);
      reject(new UserError('the build failed (the compiler errors are above): fix them, or try npm run dev, which runs the sources'));
    });
  });
}

/** npm run dev: reloads the services whose files changed, one burst at a time. */
async function watchForReloads(stack: Stack, onReloaded: () => void): Promise<SourceWatcher> {
  let queue = Promise.resolve();
  const watcher = watchSources({
    onChange: (services, files) => {
      queue = queue.then(async () => {
        const shownFiles = files.length > 2 ? `${files.slice(0, 2).join(', ')} and ${files.length - 2} more` : files.join(', ');
        say(`[dev] ${shownFiles} changed: reloading ${services.join(', ')}`);
        const started = Date.now();
        await Promise.all(services.map((service) => stack.stopService(service)));
        const results = await Promise.allSettled(services.map((service) => stack.startService(service, 30_000)));
        const failed = services.filter((_service, index) => results[index]!.status === 'rejected');
        onReloaded();
        if (failed.length === 0) say(`[dev] reloaded ${services.join(', ')} in ${seconds(Date.now() - started)}`);
        else warn(`[dev] ${failed.join(', ')} did not come back (see the lines above): it starts again when you save a fix`);
      });
    },
  });
  await watcher.ready;
  return watcher;
}

/** Signs in as the admin; when that fails, says in one line why and what to do. */
async function signInAsAdmin(gatewayUrl: string, admin: { username: string; password: string; fromEnv: boolean }) {
  const response = await fetch(`${gatewayUrl}/users/login`, {
    method: 'POST',
    signal: AbortSignal.timeout(10_000),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin.username, password: admin.password }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; user?: { role: string } };
  if (response.ok && body.user?.role === 'admin') return { token: body.token };
  if (response.ok) {
    warn(
      `[start] ADMIN_USERNAME names "${admin.username}", who is not an admin: promote them with npm run user:admin -- ${admin.username}`,
    );
  } else if (admin.fromEnv) {
    warn(
      `[start] ADMIN_PASSWORD is not the password of the existing admin "${admin.username}" (it applies only when the admin is first created): ` +
        `sign in with the old one, or make it this one with: npm run user:password -- ${admin.username}`,
    );
  } else {
    warn(
      `[start] the admin "${admin.username}" no longer has the password generated in ${shown(CREDENTIALS_FILE)} (it was changed): ` +
        `set one with npm run user:password -- ${admin.username}`,
    );
  }
  return { token: undefined };
}

async function seedDemoCatalog(gatewayUrl: string, token: string): Promise<number> {
  if (existsSync(SEEDED_MARKER)) return 0;
  const listing = (await (await fetch(`${gatewayUrl}/products?limit=1`)).json()) as { total: number };
  if (listing.total > 0) {
    writeFileSync(SEEDED_MARKER, new Date().toISOString());
    return 0;
  }
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

main().catch(async (error: unknown) => {
  if (error instanceof UserError) process.stderr.write(`start: ${error.message}\n`);
  else process.stderr.write(`start: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  // A shutdown under way (Ctrl-C) exits by itself once everything is stopped.
  if (stopAll) await stopAll(1);
  else process.exit(1);
});
