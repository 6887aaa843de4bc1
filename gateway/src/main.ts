import { createLogger, exitOnStartupError, loadEnv, serve } from '@mini/shared';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

loadEnv();
const bootLogger = createLogger('gateway');
try {
  const config = loadConfig();
  const logger = createLogger('gateway', { level: config.LOG_LEVEL });
  const app = await buildApp({
    logger,
    upstreams: config.upstreams,
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
  });
  logger.info({ upstreams: config.upstreams }, 'routing to upstreams');
  await serve(app, { port: config.PORT, host: config.HOST, logger });
} catch (error) {
  exitOnStartupError(bootLogger, error);
}
