import { startService } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { loadConfig } from './config.js';

await startService({
  name: SERVICE_NAME,
  loadConfig,
  build: async ({ config, logger, openDatabase }) => {
    // ../migrations from src/ (tsx) and from dist/ (built) alike.
    const pool = await openDatabase({ url: config.DATABASE_URL, migrations: [new URL('../migrations', import.meta.url)] });
    return buildApp({ config, logger, pool });
  },
});
