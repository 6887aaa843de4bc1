import { ConfigError, eventBusSettings, getConfig, num, port, resolveJwksUrl, str, tokenVerifierSettings, url } from '@mini/shared';

/** Every setting the product service reads; the deployment checks set each one without a `default`. */
export const configSchema = {
  PORT: port({ default: 3002, desc: 'HTTP port' }),
  HOST: str({ default: '0.0.0.0', desc: 'Interface to listen on' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ default: 'production', choices: ['development', 'production', 'test'] }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/product_db', desc: 'PostgreSQL URL of product_db' }),
  CATALOG_MAX_AGE_SECONDS: num({
    default: 1,
    desc: 'how long a shared cache (the gateway, a CDN) may reuse a public catalog answer (0: not at all)',
  }),
  ...eventBusSettings,
  ...tokenVerifierSettings,
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads and checks the settings once; `JWKS_URL` comes back resolved to a full URL. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  if (!Number.isInteger(config.CATALOG_MAX_AGE_SECONDS) || config.CATALOG_MAX_AGE_SECONDS < 0)
    throw new ConfigError('Invalid configuration: CATALOG_MAX_AGE_SECONDS is invalid: must be 0 or a whole number of seconds');
  return { ...config, JWKS_URL: resolveJwksUrl(config) };
}
