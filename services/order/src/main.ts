import { createEventBus, eventBusOptionsFrom, EVENTS_MIGRATIONS, startService, tokenVerifierFrom } from '@mini/shared';
import { buildApp, SERVICE_NAME } from './app.js';
import { createProductClient } from './clients/product-client.js';
import { loadConfig } from './config.js';
import { startOrderEvents } from './events.js';
import { pruneKeysPeriodically } from './idempotency-keys.js';

await startService({
  name: SERVICE_NAME,
  loadConfig,
  build: async ({ config, logger, open, openDatabase }) => {
    // ../migrations from src/ (tsx) and from dist/ (built) alike; the outbox and inbox tables beside them.
    const pool = await openDatabase({
      url: config.DATABASE_URL,
      migrations: [EVENTS_MIGRATIONS, new URL('../migrations', import.meta.url)],
    });
    const productClient = open(createProductClient({ baseUrl: config.productOrigins, timeoutMs: config.PRODUCT_TIMEOUT_MS }));
    const bus = open(await createEventBus({ ...eventBusOptionsFrom(config), name: SERVICE_NAME, logger }));
    open(await startOrderEvents({ pool, bus, logger }));
    open(pruneKeysPeriodically(pool));
    return buildApp({ pool, logger, verifyToken: tokenVerifierFrom(config), productClient, bus });
  },
});
