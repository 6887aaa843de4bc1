import { bool, ConfigError, getConfig, num, port, str } from '@mini/shared';

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
  TRUST_PROXY: bool({ default: false, desc: 'trust X-Forwarded-* from the proxy in front of the gateway' }),
};

export interface GatewayConfig {
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  UPSTREAM_TIMEOUT_MS: number;
  BODY_LIMIT_BYTES: number;
  TRUST_PROXY: boolean;
  /** Parsed service origins, one or more each. */
  upstreams: { users: string[]; products: string[]; orders: string[] };
}

/** Reads and checks the gateway's settings once; a bad value throws a `ConfigError` naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw = getConfig(configSchema, env);
  const problems: string[] = [];
  const upstreams = {
    users: parseUpstreamUrls('USER_SERVICE_URL', raw.USER_SERVICE_URL, problems),
    products: parseUpstreamUrls('PRODUCT_SERVICE_URL', raw.PRODUCT_SERVICE_URL, problems),
    orders: parseUpstreamUrls('ORDER_SERVICE_URL', raw.ORDER_SERVICE_URL, problems),
  };
  for (const name of ['UPSTREAM_TIMEOUT_MS', 'BODY_LIMIT_BYTES'] as const) {
    if (!Number.isInteger(raw[name]) || raw[name] <= 0) problems.push(`${name} is invalid: must be a positive integer`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return {
    PORT: raw.PORT,
    HOST: raw.HOST,
    LOG_LEVEL: raw.LOG_LEVEL,
    UPSTREAM_TIMEOUT_MS: raw.UPSTREAM_TIMEOUT_MS,
    BODY_LIMIT_BYTES: raw.BODY_LIMIT_BYTES,
    TRUST_PROXY: raw.TRUST_PROXY,
    upstreams,
  };
}

/**
 * One origin or a comma-separated list of them (`http://a:3002,http://b:3002`).
 * Only origins: a path would be silently dropped by the proxy, so it is refused instead.
 */
export function parseUpstreamUrls(name: string, value: string, problems: string[] = []): string[] {
  const origins: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      problems.push(`${name} is invalid: "${item}" is not a URL`);
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`${name} is invalid: "${item}" must be http or https`);
    else if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
      problems.push(`${name} is invalid: "${item}" must be an origin only (no path, query or credentials)`);
    else origins.push(url.origin);
  }
  if (origins.length === 0 && problems.length === 0) problems.push(`${name} is required but not set`);
  return origins;
}
