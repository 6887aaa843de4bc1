import { createApp, type App, type Logger, type Pool, type TokenVerifier } from '@mini/shared';
import { productRoutes } from './routes.js';
import { createProductService } from './service.js';

export interface ProductAppDeps {
  pool: Pool;
  logger: Logger;
  /** Checks access tokens locally against the user service's public keys. */
  verifyToken: TokenVerifier;
}

/** The product service's HTTP app, ready to `listen` or `inject`. */
export async function buildApp({ pool, logger, verifyToken }: ProductAppDeps): Promise<App> {
  return createApp({
    serviceName: 'product-service',
    logger,
    routes: productRoutes({ service: createProductService(pool), verifyToken }),
    readiness: { database: () => pool.query('SELECT 1') },
    openapi: {
      title: 'Mini eCommerce product service',
      version: '0.1.0',
      description:
        'The catalog: products, their prices (decimal amounts, stored as integer cents) and stock. Reads are public; writes need an admin token.',
    },
  });
}
