import { fileURLToPath } from 'node:url';
import { createLogger, createPool, exitOnStartupError, loadEnv, runMigrations, serve, tokenVerifierFrom } from '@mini/shared';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

loadEnv();
const logger = createLogger('product-service');

try {
  const config = loadConfig();
  logger.level = config.LOG_LEVEL;
  // ../migrations from src/ (tsx) and from dist/ (built) alike.
  await runMigrations({ databaseUrl: config.DATABASE_URL, dir: fileURLToPath(new URL('../migrations', import.meta.url)), logger });
  const pool = createPool(config.DATABASE_URL, { applicationName: 'product-service', logger });
  const verifyToken = tokenVerifierFrom(config);
  const app = await buildApp({ pool, logger, verifyToken });
  await serve(app, { port: config.PORT, host: config.HOST, logger, onClose: () => pool.end() });
} catch (error) {
  exitOnStartupError(logger, error);
}
