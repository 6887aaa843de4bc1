import { isIP } from 'node:net';
import { ConfigError, getConfig, num, parseOriginList, port, str } from '@mini/shared';
import type { RateLimits } from './rate-limits.js';

/** Fastify's trustProxy: whom to believe about the client's address. */
export type TrustProxy = boolean | number | string[];

/** Every setting the gateway reads; the deployment checks read this to see which ones have no default. */
export const configSchema = {
  PORT: port({ default: 8080 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  USER_SERVICE_URL: str({
    default: 'http://127.0.0.1:3001',
    desc: 'origin of the user service (a comma-separated list balances round-robin)',
  }),
  PRODUCT_SERVICE_URL: str({
    default: 'http://127.0.0.1:3002',
    desc: 'origin of the product service (a comma-separated list balances round-robin)',
  }),
  ORDER_SERVICE_URL: str({
    default: 'http://127.0.0.1:3003',
    desc: 'origin of the order service (a comma-separated list balances round-robin)',
  }),
  UPSTREAM_TIMEOUT_MS: num({ default: 10_000, desc: 'time an upstream gets to send its answer headers, and between body chunks' }),
  BODY_LIMIT_BYTES: num({ default: 1_048_576, desc: 'largest request body forwarded' }),
  TRUST_PROXY: str({
    default: 'false',
    desc: 'whose X-Forwarded-For to believe: false, true (any peer), a hop count, or a comma-separated list of proxy addresses/CIDRs',
  }),
  HEADERS_TIMEOUT_MS: num({ default: 5_000, desc: 'time a client gets to send its request headers' }),
  REQUEST_TIMEOUT_MS: num({ default: 15_000, desc: 'time a client gets to send its whole request, body included' }),
  KEEP_ALIVE_TIMEOUT_MS: num({ default: 5_000, desc: 'how long an idle client connection is kept open' }),
  MAX_CONNECTIONS_PER_CLIENT: num({ default: 100, desc: 'open connections one client address may hold (0: no cap)' }),
  CATALOG_CACHE_MB: num({
    default: 8,
    desc: 'memory for catalog answers reused as the product service allows (Cache-Control max-age; 0: off)',
  }),
  REDIS_URL: str({ default: '', desc: 'Redis for rate-limit counters shared by gateway replicas; empty keeps them in memory' }),
  RATE_LIMIT_PER_MINUTE: num({ default: 1_200, desc: 'requests per client per minute (0: no limit)' }),
  RATE_LIMIT_LOGIN_PER_MINUTE: num({ default: 20, desc: 'login attempts per client per minute (0: no limit)' }),
  RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME: num({ default: 10, desc: 'failed logins per username per 15 minutes (0: no limit)' }),
  RATE_LIMIT_REGISTER_PER_MINUTE: num({ default: 10, desc: 'registrations per client per minute (0: no limit)' }),
};

const POSITIVE_SETTINGS = ['UPSTREAM_TIMEOUT_MS', 'BODY_LIMIT_BYTES', 'HEADERS_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS', 'KEEP_ALIVE_TIMEOUT_MS'] as const;
const COUNT_SETTINGS = [
  'MAX_CONNECTIONS_PER_CLIENT',
  'CATALOG_CACHE_MB',
  'RATE_LIMIT_PER_MINUTE',
  'RATE_LIMIT_LOGIN_PER_MINUTE',
  'RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME',
  'RATE_LIMIT_REGISTER_PER_MINUTE',
] as const;

export interface GatewayConfig {
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  UPSTREAM_TIMEOUT_MS: number;
  BODY_LIMIT_BYTES: number;
  /** Parsed TRUST_PROXY. */
  trustProxy: TrustProxy;
  clientTimeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  MAX_CONNECTIONS_PER_CLIENT: number;
  CATALOG_CACHE_MB: number;
  REDIS_URL: string;
  rateLimits: RateLimits;
  /** Parsed service origins, one or more each. */
  upstreams: { users: string[]; products: string[]; orders: string[] };
}

/** Reads and checks the gateway's settings once; a bad value throws a `ConfigError` naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw = getConfig(configSchema, env);
  const problems: string[] = [];
  const upstreams = {
    users: parseOriginList('USER_SERVICE_URL', raw.USER_SERVICE_URL, problems),
    products: parseOriginList('PRODUCT_SERVICE_URL', raw.PRODUCT_SERVICE_URL, problems),
    orders: parseOriginList('ORDER_SERVICE_URL', raw.ORDER_SERVICE_URL, problems),
  };
  for (const name of POSITIVE_SETTINGS) {
    if (!Number.isInteger(raw[name]) || raw[name] <= 0) problems.push(`${name} is invalid: must be a positive integer`);
  }
  for (const name of COUNT_SETTINGS) {
    if (!Number.isInteger(raw[name]) || raw[name] < 0) problems.push(`${name} is invalid: must be 0 or a positive integer`);
  }
  if (raw.HEADERS_TIMEOUT_MS > raw.REQUEST_TIMEOUT_MS) problems.push('HEADERS_TIMEOUT_MS is invalid: must not exceed REQUEST_TIMEOUT_MS');
  const trustProxy = parseTrustProxy(raw.TRUST_PROXY, problems);
  if (raw.REDIS_URL && !/^rediss?:\/\//.test(raw.REDIS_URL)) problems.push('REDIS_URL is invalid: must start with redis:// or rediss://');
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return {
    PORT: raw.PORT,
    HOST: raw.HOST,
    LOG_LEVEL: raw.LOG_LEVEL,
    UPSTREAM_TIMEOUT_MS: raw.UPSTREAM_TIMEOUT_MS,
    BODY_LIMIT_BYTES: raw.BODY_LIMIT_BYTES,
    trustProxy,
    clientTimeouts: { headersMs: raw.HEADERS_TIMEOUT_MS, requestMs: raw.REQUEST_TIMEOUT_MS, keepAliveMs: raw.KEEP_ALIVE_TIMEOUT_MS },
    MAX_CONNECTIONS_PER_CLIENT: raw.MAX_CONNECTIONS_PER_CLIENT,
    CATALOG_CACHE_MB: raw.CATALOG_CACHE_MB,
    REDIS_URL: raw.REDIS_URL,
    rateLimits: {
      perMinute: raw.RATE_LIMIT_PER_MINUTE,
      loginPerMinute: raw.RATE_LIMIT_LOGIN_PER_MINUTE,
      loginFailuresPerUsername: raw.RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME,
      registerPerMinute: raw.RATE_LIMIT_REGISTER_PER_MINUTE,
    },
    upstreams,
  };
}

/**
 * TRUST_PROXY: `false` (the peer is the client), `true` (believe any peer: only when nothing
 * but a proxy can reach the gateway), a number of proxy hops, or the proxies' addresses/CIDRs.
 */
export function parseTrustProxy(value: string, problems: string[] = []): TrustProxy {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const version = isIP(address ?? '');
    const maxBits = version === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (version === 0 || !bitsOk || extra !== undefined)
      problems.push(`TRUST_PROXY is invalid: "${entry}" is not an address or CIDR (or use true, false or a hop count)`);
  }
  return entries;
}
