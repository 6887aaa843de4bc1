import { createApp, type App, type EventBus, type Logger, type Pool, type TokenVerifier } from '@mini/shared';
import { productRoutes } from './routes.js';
import { createProductService } from './service.js';

export interface ProductAppDeps {
  pool: Pool;
  logger: Logger;
  /** Checks access tokens locally against the user service's public keys. */
  verifyToken: TokenVerifier;
  /** The broker of order events, when this process takes part in them: part of `/readyz`. */
  bus?: Pick<EventBus, 'check'>;
  /** How long a shared cache may reuse a public catalog answer (default 1 s; 0: not at all). */
  catalogMaxAgeSeconds?: number;
}

export const SERVICE_NAME = 'product-service';

/** The product service's HTTP app, ready to `listen` or `inject`. */
export async function buildApp({ pool, logger, verifyToken, bus, catalogMaxAgeSeconds = 1 }: ProductAppDeps): Promise<App> {
  return createApp({
    serviceName: SERVICE_NAME,
    logger,
    routes: productRoutes({ service: createProductService(pool), verifyToken, catalogMaxAgeSeconds }),
    readiness: { database: () => pool.query('SELECT 1') },
    degradedBy: bus ? { events: () => bus.check() } : {},
    openapi: {
      title: 'Mini eCommerce product service',
      version: '0.1.0',
      description:
        'The catalog: products, their prices (decimal amounts, stored as integer cents) and stock. Reads are public; writes need an admin token.',
    },
  });
}
