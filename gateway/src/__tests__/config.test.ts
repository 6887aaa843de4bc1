import { describe, expect, test } from 'vitest';
import { configSchema, loadConfig } from '../config.js';

describe('loadConfig', () => {
  test('defaults: port 8080, the local services, 10 s upstream timeout, 1 MiB bodies, no trusted proxy, client deadlines, limits on', () => {
    expect(loadConfig({ NODE_ENV: 'test' })).toEqual({
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      UPSTREAM_TIMEOUT_MS: 10_000,
      BODY_LIMIT_BYTES: 1_048_576,
      trustProxy: false,
      clientTimeouts: { headersMs: 5_000, requestMs: 15_000, keepAliveMs: 5_000 },
      MAX_CONNECTIONS_PER_CLIENT: 100,
      CATALOG_CACHE_MB: 8,
      REDIS_URL: '',
      rateLimits: { perMinute: 1200, loginPerMinute: 20, loginFailuresPerUsername: 10, registerPerMinute: 10 },
      upstreams: { users: ['http://127.0.0.1:3001'], products: ['http://127.0.0.1:3002'], orders: ['http://127.0.0.1:3003'] },
    });
  });

  test('every setting has a plain default, so production needs none of them set', () => {
    for (const [name, spec] of Object.entries(configSchema)) expect(spec.default, name).toBeDefined();
    expect(loadConfig({ NODE_ENV: 'production' }).PORT).toBe(8080);
  });

  test('a comma-separated list gives several origins for one service', () => {
    const config = loadConfig({
      PRODUCT_SERVICE_URL: 'http://product-1:3002, http://product-2:3002/',
      TRUST_PROXY: 'true',
      UPSTREAM_TIMEOUT_MS: '2500',
    });
    expect(config.upstreams.products).toEqual(['http://product-1:3002', 'http://product-2:3002']);
    expect(config.trustProxy).toBe(true);
    expect(config.UPSTREAM_TIMEOUT_MS).toBe(2_500);
  });

  test('TRUST_PROXY takes false, true, a hop count or a list of proxy addresses and CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', '::1']);
  });

  test('rate limits default on, and 0 turns one off', () => {
    expect(loadConfig({}).rateLimits).toEqual({ perMinute: 1200, loginPerMinute: 20, loginFailuresPerUsername: 10, registerPerMinute: 10 });
    expect(loadConfig({ RATE_LIMIT_REGISTER_PER_MINUTE: '0' }).rateLimits.registerPerMinute).toBe(0);
  });

  test.each([
    [{ USER_SERVICE_URL: 'not a url' }, /USER_SERVICE_URL is invalid/],
    [{ ORDER_SERVICE_URL: 'ftp://orders:21' }, /ORDER_SERVICE_URL is invalid: "ftp:\/\/orders:21" must be http or https/],
    [{ PRODUCT_SERVICE_URL: 'http://products:3002/api' }, /PRODUCT_SERVICE_URL is invalid: .* must be an origin only/],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, /UPSTREAM_TIMEOUT_MS is invalid/],
    [{ BODY_LIMIT_BYTES: '-1' }, /BODY_LIMIT_BYTES is invalid/],
    [{ PORT: 'eighty' }, /PORT is invalid/],
    [{ TRUST_PROXY: '10.0.0.0/40' }, /TRUST_PROXY is invalid: "10.0.0.0\/40"/],
    [{ TRUST_PROXY: 'proxy.internal' }, /TRUST_PROXY is invalid/],
    [{ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }, /HEADERS_TIMEOUT_MS is invalid: must not exceed/],
    [{ RATE_LIMIT_LOGIN_PER_MINUTE: '-5' }, /RATE_LIMIT_LOGIN_PER_MINUTE is invalid/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL is invalid/],
  ])('%o: refused with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
