import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import { Redis } from 'ioredis';
import type { Logger } from '@mini/shared';

/** Where every rate-limit counter lives in Redis. */
export const REDIS_KEY_PREFIX = 'mini-rl:';

type Result = { current: number; ttl: number };
type Callback = (error: Error | null, result?: Result) => void;

/**
 * A Redis client made for rate limiting: a command fails in at most 250 ms (or at once while
 * disconnected) instead of queueing, so an outage costs a request nothing but the fallback.
 */
export function createRateLimitRedis(url: string, logger: Logger): { redis: Redis; close(): Promise<void> } {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 250,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors are reported by the store that fails over (once per outage); without a
  // listener, ioredis would print each reconnection attempt.
  redis.on('error', () => {});
  redis.on('ready', () => logger.info('rate-limit counters: Redis connected'));
  return {
    redis,
    close: async () => {
      redis.disconnect();
    },
  };
}

/**
 * Counters in Redis, shared by every gateway replica; while Redis cannot answer, in this
 * replica's memory instead, so limits stay in force (per replica) and no request fails.
 * The outage and the recovery are logged once each.
 */
export function redisStoreWithFallback(redis: Redis, logger: Logger): FastifyRateLimitStoreCtor {
  let redisDown = false;
  const reportOutage = (error: Error) => {
    if (redisDown) return;
    redisDown = true;
    logger.warn({ reason: error.message }, "rate-limit counters: Redis is unavailable, counting in this replica's memory until it is back");
  };
  const reportRecovery = () => {
    if (!redisDown) return;
    redisDown = false;
    logger.info('rate-limit counters: Redis is back');
  };

  return class RedisWithFallbackStore implements FastifyRateLimitStore {
    private readonly shared: FastifyRateLimitStore & { read: FastifyRateLimitStore['incr'] };
    private readonly local: FastifyRateLimitStore & { read: FastifyRateLimitStore['incr'] };

    constructor(options: FastifyRateLimitOptions & { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
      this.shared = new RedisStore(options.continueExceeding, options.exponentialBackoff, redis, REDIS_KEY_PREFIX);
      this.local = new LocalStore(options.continueExceeding, options.exponentialBackoff, 10_000);
    }

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      this.withFallback('incr', key, callback, timeWindow, max);
    }

    read(key: string, callback: Callback, timeWindow: number, max: number): void {
      this.withFallback('read', key, callback, timeWindow, max);
    }

    /** Every limiter here has its own key prefix: one store serves them all. */
    child(): FastifyRateLimitStore {
      return this;
    }

    private withFallback(method: 'incr' | 'read', key: string, callback: Callback, timeWindow: number, max: number): void {
      this.shared[method](
        key,
        (error, result) => {
          if (!error && result) {
            reportRecovery();
            callback(null, result);
            return;
          }
          reportOutage(error ?? new Error('no answer'));
          this.local[method](key, callback, timeWindow, max);
        },
        timeWindow,
        max,
      );
    }
  };
}
