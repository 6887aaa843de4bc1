import type { App } from './app.js';
import type { Logger } from './logger.js';

/**
 * Listens, then on SIGTERM/SIGINT stops taking connections, lets in-flight
 * requests finish, runs `onClose` (pools, clients) and exits; a stuck
 * shutdown is cut off after `graceMs`.
 */
export async function serve(
  app: App,
  {
    port,
    host = '0.0.0.0',
    logger,
    onClose,
    graceMs = 10_000,
  }: { port: number; host?: string; logger: Logger; onClose?: () => Promise<void>; graceMs?: number },
): Promise<void> {
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
      await app.close();
      await onClose?.();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  const address = await app.listen({ port, host });
  logger.info({ address }, 'listening');
}

/** Logs a fatal start-up error as one line and exits non-zero. */
export function exitOnStartupError(logger: Logger, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'ConfigError') {
    process.stderr.write(`${message}\n`);
  } else {
    logger.fatal({ err: error }, `failed to start: ${message}`);
  }
  process.exit(1);
}
