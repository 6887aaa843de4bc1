import { createApp, type App, type Logger, type Pool, type TokenVerifier } from '@mini/shared';
import type { ProductClient } from './clients/product-client.js';
import { registerOrderRoutes } from './routes.js';
import { createOrderService } from './service.js';

export const SERVICE_NAME = 'order-service';

export interface OrderAppDeps {
  pool: Pool;
  logger: Logger;
  verifyToken: TokenVerifier;
  productClient: ProductClient;
}

/** The order service's app, without listening: main.ts serves it, tests inject into it. */
export async function buildApp({ pool, logger, verifyToken, productClient }: OrderAppDeps): Promise<App> {
  const service = createOrderService({ pool, productClient });
  return createApp({
    serviceName: SERVICE_NAME,
    logger,
    routes: (app) => registerOrderRoutes(app, { service, verifyToken }),
    // The database only: a product service outage answers 503 per request, it does not make
    // this service unready (that would take healthy order reads out of rotation too).
    readiness: { database: () => pool.query('SELECT 1') },
    openapi: {
      title: 'Mini eCommerce order service',
      version: '0.1.0',
      description: 'Orders and their lines: place (checked against the product service), list, read, cancel.',
    },
  });
}
