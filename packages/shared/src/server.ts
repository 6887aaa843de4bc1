import { fileURLToPath } from 'node:url';
import { beginDraining, type App } from './app.js';
import { loadEnv } from './config.js';
import { createPool, runMigrations, type Pool } from './db.js';
import { createLogger, type Logger } from './logger.js';

/** Anything a process opens at start and must close on the way out. */
export type Resource = { close(): Promise<void> } | { end(): Promise<void> };

/** The settings every process has. */
export interface ProcessConfig {
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
}

/** What `build` gets: the checked settings, the logger, and the means to open resources. */
export interface ServiceContext<C extends ProcessConfig> {
  config: C;
  logger: Logger;
  /** Registers `resource` to be closed on shutdown, in reverse order of opening; returns it. */
  open: <R extends Resource>(resource: R) => R;
  /** Migrates the database at `url` (SQL files in `migrations`, in name order), then opens a pool on it. */
  openDatabase: (options: { url: string; migrations: URL[] }) => Promise<Pool>;
}

export interface StartServiceOptions<C extends ProcessConfig> {
  /** Names the process in every log line. */
  name: string;
  /** Reads and checks the settings; throws a `ConfigError` naming each bad one. */
  loadConfig: () => C;
  /** Opens what the process needs and returns its app, not yet listening. */
  build: (context: ServiceContext<C>) => Promise<App>;
  /** How long a shutdown may take before the process exits anyway (default 10 s). */
  graceMs?: number;
  /**
   * On SIGTERM, how long the process keeps serving, not ready and closing each connection after
   * its answer, before it stops listening (default 1 s): kept-alive clients move to another
   * replica without a request lost in between.
   */
  drainMs?: number;
}

/**
 * The one way a process starts: `.env`, settings, logger, resources, app, listen. On SIGTERM or
 * SIGINT it stops taking connections, lets in-flight requests finish, closes its resources in
 * reverse order and exits 0; a start-up failure closes what was opened and exits 1 with one line.
 */
export async function startService<C extends ProcessConfig>({
  name,
  loadConfig,
  build,
  graceMs = 10_000,
  drainMs = 1_000,
}: StartServiceOptions<C>): Promise<void> {
  loadEnv();
  let logger = createLogger(name);
  const resources: Resource[] = [];
  const closeResources = async () => {
    for (const resource of resources.splice(0).reverse()) {
      await ('close' in resource ? resource.close() : resource.end()).catch((error: unknown) =>
        logger.warn({ err: error }, 'closing a resource failed'),
      );
    }
  };
  try {
    const config = loadConfig();
    logger = createLogger(name, { level: config.LOG_LEVEL });
    const context: ServiceContext<C> = {
      config,
      logger,
      open: (resource) => {
        resources.push(resource);
        return resource;
      },
      openDatabase: async ({ url, migrations }) => {
        await runMigrations({ databaseUrl: url, dir: migrations.map((dir) => fileURLToPath(dir)), logger });
        return context.open(createPool(url, { applicationName: name, logger }));
      },
    };
    const app = await build(context);
    handleShutdown({ app, logger, graceMs, drainMs, closeResources });
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    logger.info({ address }, 'listening');
  } catch (error) {
    await closeResources();
    exitOnStartupError(logger, error);
  }
}

function handleShutdown({
  app,
  logger,
  graceMs,
  drainMs,
  closeResources,
}: {
  app: App;
  logger: Logger;
  graceMs: number;
  drainMs: number;
  closeResources: () => Promise<void>;
}): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    try {
      // SIGTERM is an orchestrated stop (a rolling restart): drain first. Ctrl-C stops at once.
      if (signal === 'SIGTERM' && drainMs > 0) {
        beginDraining(app);
        await new Promise((resolve) => setTimeout(resolve, drainMs));
      }
      // Stop listening; a request still arriving gets a 503 saying it was not processed while
      // in-flight ones finish; then consumers, relays, pools close.
      await app.close();
      await closeResources();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** Logs a fatal start-up error as one line and exits non-zero. */
export function exitOnStartupError(logger: Logger, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && error.name === 'ConfigError') {
    process.stderr.write(`${message}\n`);
  } else if (code === 'EADDRINUSE' || code === 'EACCES') {
    // A mistake a user makes (another process on the port): one line that says what to change.
    const { port } = error as { port?: number };
    process.stderr.write(
      `cannot listen on port ${port ?? '?'}: ${code === 'EADDRINUSE' ? 'it is already in use' : 'permission denied'}; set PORT to another port\n`,
    );
  } else {
    logger.fatal({ err: error }, `failed to start: ${message}`);
  }
  process.exit(1);
}
