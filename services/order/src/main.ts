import { startService, tokenVerifierFrom } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { createProductClient } from './clients/product-client.js';
import { loadConfig } from './config.js';

await startService({
  name: SERVICE_NAME,
  loadConfig,
  build: async ({ config, logger, open, openDatabase }) => {
    // ../migrations from src/ (tsx) and from dist/ (built) alike.
    const pool = await openDatabase({ url: config.DATABASE_URL, migrations: [new URL('../migrations', import.meta.url)] });
    const productClient = open(createProductClient({ baseUrl: config.PRODUCT_SERVICE_URL, timeoutMs: config.PRODUCT_TIMEOUT_MS }));
    return buildApp({ pool, logger, verifyToken: tokenVerifierFrom(config), productClient });
  },
});
