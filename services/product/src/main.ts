import { startService, tokenVerifierFrom } from '@mini/shared';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

await startService({
  name: 'product-service',
  loadConfig,
  build: async ({ config, logger, openDatabase }) => {
    // ../migrations from src/ (tsx) and from dist/ (built) alike.
    const pool = await openDatabase({ url: config.DATABASE_URL, migrations: [new URL('../migrations', import.meta.url)] });
    return buildApp({ pool, logger, verifyToken: tokenVerifierFrom(config) });
  },
});
