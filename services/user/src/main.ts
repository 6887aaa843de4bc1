import { fileURLToPath } from 'node:url';
import { createLogger, createPool, exitOnStartupError, loadEnv, runMigrations, serve } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { loadConfig } from './config.js';

loadEnv();
const bootLogger = createLogger(SERVICE_NAME, { level: 'info' });

try {
  const config = loadConfig();
  const logger = createLogger(SERVICE_NAME, { level: config.LOG_LEVEL });
  // ../migrations resolves from src/ (tsx) and from dist/ (built) alike.
  await runMigrations({ databaseUrl: config.DATABASE_URL, dir: fileURLToPath(new URL('../migrations', import.meta.url)), logger });
  const pool = createPool(config.DATABASE_URL, { applicationName: SERVICE_NAME, logger });
  const app = await buildApp({ config, logger, pool });
  await serve(app, { port: config.PORT, host: config.HOST, logger, onClose: () => pool.end() });
} catch (error) {
  exitOnStartupError(bootLogger, error);
}
