import { fileURLToPath } from 'node:url';
import { createLogger, createPool, exitOnStartupError, loadEnv, runMigrations, serve, tokenVerifierFrom } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { createProductClient } from './clients/product-client.js';
import { loadConfig } from './config.js';

loadEnv();
// Until the configuration is read (LOG_LEVEL included), start-up problems go through this one.
let logger = createLogger(SERVICE_NAME, { level: 'info' });
try {
  const config = loadConfig();
  logger = createLogger(SERVICE_NAME, { level: config.LOG_LEVEL });
  const pool = createPool(config.DATABASE_URL, { applicationName: SERVICE_NAME, logger });
  await runMigrations({
    databaseUrl: config.DATABASE_URL,
    dir: fileURLToPath(new URL('../migrations', import.meta.url)),
    logger,
  });
  const productClient = createProductClient({ baseUrl: config.PRODUCT_SERVICE_URL, timeoutMs: config.PRODUCT_TIMEOUT_MS });
  const verifyToken = tokenVerifierFrom(config);
  const app = await buildApp({ pool, logger, verifyToken, productClient });
  await serve(app, {
    port: config.PORT,
    host: config.HOST,
    logger,
    onClose: async () => {
      await productClient.close();
      await pool.end();
    },
  });
} catch (error) {
  exitOnStartupError(logger, error);
}
