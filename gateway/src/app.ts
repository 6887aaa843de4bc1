import { createApp, DEFAULT_BODY_LIMIT, type App, type ClientTimeouts, type Logger } from '@mini/shared';
import { capConnectionsPerClient, proxyTrust } from './client-address.js';
import { answerClientErrorsWithEnvelope } from './client-errors.js';
import type { TrustProxy } from './config.js';
import { createDocsSource, registerDocs } from './docs.js';
import { registerProxy } from './proxy.js';
import { createRateLimitRedis } from './rate-limit-store.js';
import { NO_RATE_LIMITS, registerRateLimits, type RateLimits } from './rate-limits.js';
import { ResponseCache } from './response-cache.js';
import { createUpstream, upstreamReady, type Upstream } from './upstreams.js';

/** What a client gets at the socket level: headers in 5 s, the whole request in 15 s, idle sockets closed after 5 s. */
export const GATEWAY_CLIENT_TIMEOUTS: Partial<ClientTimeouts> = { headersMs: 5_000, requestMs: 15_000, keepAliveMs: 5_000 };

export interface GatewayDeps {
  logger: Logger;
  /** Origins of each service (one, or several balanced round-robin). */
  upstreams: { users: string[]; products: string[]; orders: string[] };
  /** Time an upstream gets for its answer headers, and between body chunks (default 10 s). */
  upstreamTimeoutMs?: number;
  /** Largest request body forwarded (default 1 MiB). */
  bodyLimit?: number;
  /** Whom to believe about the client's address (default: nobody, the peer is the client). */
  trustProxy?: TrustProxy;
  /** Deadlines for slow and idle clients (default `GATEWAY_CLIENT_TIMEOUTS`). */
  clientTimeouts?: Partial<ClientTimeouts>;
  /** Open connections one client address may hold (default 100; 0: no cap). */
  maxConnectionsPerClient?: number;
  /** Rate limits (default: none). */
  rateLimits?: RateLimits;
  /** Redis for rate-limit counters shared by replicas (default: in memory). */
  redisUrl?: string;
  /** Time each upstream's `/readyz` and `/openapi.json` get (default 1 s). */
  probeTimeoutMs?: number;
  /** How long the combined API document is reused (default 30 s). */
  docsTtlMs?: number;
  /** Bytes of catalog answers kept for reuse, as the product service allows (default 8 MiB; 0: none). */
  catalogCacheBytes?: number;
}

/** The gateway: `/users`, `/products`, `/orders` to their services, `/docs`, and the probes. */
export async function buildApp({
  logger,
  upstreams: origins,
  upstreamTimeoutMs = 10_000,
  bodyLimit = DEFAULT_BODY_LIMIT,
  trustProxy = false,
  clientTimeouts = GATEWAY_CLIENT_TIMEOUTS,
  maxConnectionsPerClient = 100,
  rateLimits = NO_RATE_LIMITS,
  redisUrl = '',
  probeTimeoutMs = 1_000,
  docsTtlMs = 30_000,
  catalogCacheBytes = 8 * 1024 * 1024,
}: GatewayDeps): Promise<App> {
  const trustsAddress = proxyTrust(trustProxy);
  const connectTimeoutMs = Math.min(2_000, upstreamTimeoutMs);
  const upstreams: Upstream[] = [
    createUpstream('user-service', '/users', origins.users, { connectTimeoutMs }),
    createUpstream('product-service', '/products', origins.products, {
      connectTimeoutMs,
      cache: catalogCacheBytes > 0 ? new ResponseCache({ maxBytes: catalogCacheBytes }) : undefined,
    }),
    createUpstream('order-service', '/orders', origins.orders, { connectTimeoutMs }),
  ];
  const counters = redisUrl ? createRateLimitRedis(redisUrl, logger) : undefined;
  const closeUpstreams = async () => {
    await Promise.all([...upstreams.map((upstream) => upstream.dispatcher.close()), counters?.close()]);
  };

  let app: App;
  try {
    app = await createApp({
      serviceName: 'gateway',
      logger,
      bodyLimit,
      // Fastify takes a hop count as a function of the hop.
      trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
      clientTimeouts,
      readiness: Object.fromEntries(upstreams.map((upstream) => [upstream.name, upstreamReady(upstream, probeTimeoutMs)])),
      routes: async (scope) => {
        await registerRateLimits(scope, { limits: rateLimits, redis: counters?.redis, logger });
        await registerProxy(scope, {
          upstreams,
          timeoutMs: upstreamTimeoutMs,
          bodyLimit,
          trustsPeer: (request) => trustsAddress(request.socket.remoteAddress ?? ''),
          rateLimits,
        });
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
  capConnectionsPerClient(app.server, maxConnectionsPerClient, trustsAddress);
  return app;
}
