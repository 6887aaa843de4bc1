import { createApp, DEFAULT_BODY_LIMIT, type App, type Logger } from '@mini/shared';
import { answerClientErrorsWithEnvelope } from './client-errors.js';
import { createDocsSource, registerDocs } from './docs.js';
import { registerProxy } from './proxy.js';
import { createUpstream, upstreamReady, type Upstream } from './upstreams.js';

export interface GatewayDeps {
  logger: Logger;
  /** Origins of each service (one, or several balanced round-robin). */
  upstreams: { users: string[]; products: string[]; orders: string[] };
  /** Time an upstream gets for its answer headers, and between body chunks (default 10 s). */
  upstreamTimeoutMs?: number;
  /** Largest request body forwarded (default 1 MiB). */
  bodyLimit?: number;
  trustProxy?: boolean;
  /** Time each upstream's `/readyz` and `/openapi.json` get (default 1 s). */
  probeTimeoutMs?: number;
  /** How long the combined API document is reused (default 30 s). */
  docsTtlMs?: number;
}

/** The gateway: `/users`, `/products`, `/orders` to their services, `/docs`, and the probes. */
export async function buildApp({
  logger,
  upstreams: origins,
  upstreamTimeoutMs = 10_000,
  bodyLimit = DEFAULT_BODY_LIMIT,
  trustProxy = false,
  probeTimeoutMs = 1_000,
  docsTtlMs = 30_000,
}: GatewayDeps): Promise<App> {
  const connectTimeoutMs = Math.min(2_000, upstreamTimeoutMs);
  const upstreams: Upstream[] = [
    createUpstream('user-service', '/users', origins.users, { connectTimeoutMs }),
    createUpstream('product-service', '/products', origins.products, { connectTimeoutMs }),
    createUpstream('order-service', '/orders', origins.orders, { connectTimeoutMs }),
  ];
  const closeUpstreams = async () => {
    await Promise.all(upstreams.map((upstream) => upstream.dispatcher.close()));
  };

  let app: App;
  try {
    app = await createApp({
      serviceName: 'gateway',
      logger,
      bodyLimit,
      trustProxy,
      readiness: Object.fromEntries(upstreams.map((upstream) => [upstream.name, upstreamReady(upstream, probeTimeoutMs)])),
      routes: async (scope) => {
        await registerProxy(scope, { upstreams, timeoutMs: upstreamTimeoutMs, bodyLimit, trustProxy });
        await registerDocs(scope, createDocsSource({ upstreams, timeoutMs: probeTimeoutMs, ttlMs: docsTtlMs }));
      },
    });
  } catch (error) {
    await closeUpstreams();
    throw error;
  }

  // The gateway's own (empty) OpenAPI document would only mislead: `/docs/openapi.json` is the real one.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === '/openapi.json') return reply.callNotFound();
    return undefined;
  });
  app.addHook('onClose', closeUpstreams);
  answerClientErrorsWithEnvelope(app.server);
  return app;
}
