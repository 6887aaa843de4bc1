import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * A JSON logger whose every line carries `service` (and, inside a request,
 * `reqId`). Level from `LOG_LEVEL` unless given.
 */
export function createLogger(serviceName: string, options: { level?: string } = {}): Logger {
  const wanted = options.level ?? process.env.LOG_LEVEL ?? 'info';
  // An unknown level falls back to info here; the service's config check then names the variable.
  const level = wanted in pino.levels.values || wanted === 'silent' ? wanted : 'info';
  return pino({
    level,
    base: { service: serviceName },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token'], censor: '[redacted]' },
  });
}
