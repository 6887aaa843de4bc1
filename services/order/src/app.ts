import { createApp, type App, type EventBus, type Logger, type Pool, type TokenVerifier } from '@mini/shared';
import type { ProductClient } from './clients/product-client.js';
import { registerOrderRoutes } from './routes.js';
import { createOrderService } from './service.js';

export const SERVICE_NAME = 'order-service';

export interface OrderAppDeps {
  pool: Pool;
  logger: Logger;
  verifyToken: TokenVerifier;
  productClient: ProductClient;
  /** The broker of order events, when this process takes part in them: part of `/readyz`. */
  bus?: Pick<EventBus, 'check'>;
}

/** The order service's app, without listening: main.ts serves it, tests inject into it. */
export async function buildApp({ pool, logger, verifyToken, productClient, bus }: OrderAppDeps): Promise<App> {
  const service = createOrderService({ pool, productClient });
  return createApp({
    serviceName: SERVICE_NAME,
    logger,
    routes: (app) => registerOrderRoutes(app, { service, verifyToken }),
    // Not the product service: its outage answers 503 per request and does not make this service
    // unready (that would take healthy order reads out of rotation too). Nor the broker: orders
    // still land in the outbox while it is down and settle once it is back, so it only degrades.
    readiness: { database: () => pool.query('SELECT 1') },
    degradedBy: bus ? { events: () => bus.check() } : {},
    openapi: {
      title: 'Mini eCommerce order service',
      version: '0.1.0',
      description: 'Orders and their lines: place (checked against the product service), list, read, cancel.',
    },
  });
}
