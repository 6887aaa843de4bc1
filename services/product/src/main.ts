import { createEventBus, eventBusOptionsFrom, EVENTS_MIGRATIONS, startService, tokenVerifierFrom } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { loadConfig } from './config.js';
import { startProductEvents } from './events.js';

await startService({
  name: SERVICE_NAME,
  loadConfig,
  build: async ({ config, logger, open, openDatabase }) => {
    // ../migrations from src/ (tsx) and from dist/ (built) alike; the outbox and inbox tables beside them.
    const pool = await openDatabase({
      url: config.DATABASE_URL,
      migrations: [EVENTS_MIGRATIONS, new URL('../migrations', import.meta.url)],
    });
    const bus = open(await createEventBus({ ...eventBusOptionsFrom(config), name: SERVICE_NAME, logger }));
    open(await startProductEvents({ pool, bus, logger }));
    return buildApp({ pool, logger, verifyToken: tokenVerifierFrom(config), bus, catalogMaxAgeSeconds: config.CATALOG_MAX_AGE_SECONDS });
  },
});
