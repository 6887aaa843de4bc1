import { startService } from '@mini/shared';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

await startService({
  name: 'gateway',
  loadConfig,
  build: async ({ config, logger }) => {
    logger.info({ upstreams: config.upstreams }, 'routing to upstreams');
    return buildApp({
      logger,
      upstreams: config.upstreams,
      upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
      bodyLimit: config.BODY_LIMIT_BYTES,
      trustProxy: config.trustProxy,
      clientTimeouts: config.clientTimeouts,
      maxConnectionsPerClient: config.MAX_CONNECTIONS_PER_CLIENT,
      rateLimits: config.rateLimits,
      redisUrl: config.REDIS_URL,
      catalogCacheBytes: config.CATALOG_CACHE_MB * 1024 * 1024,
    });
  },
});
