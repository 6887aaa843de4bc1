import { ConfigError, eventBusSettings, getConfig, num, port, resolveJwksUrl, str, tokenVerifierSettings, url } from '@mini/shared';

/** Every setting of the order service: read once at start (see DESIGN.md "Configuration"). */
export const configSchema = {
  PORT: port({ default: 3003 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ default: 'production', choices: ['development', 'test', 'production'] }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/order_db', desc: 'PostgreSQL URL of order_db' }),
  PRODUCT_SERVICE_URL: url({ default: 'http://127.0.0.1:3002' }),
  PRODUCT_TIMEOUT_MS: num({ default: 2000 }),
  ...eventBusSettings,
  ...tokenVerifierSettings,
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads and checks the settings; throws a `ConfigError` naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  const jwksUrl = resolveJwksUrl(config);
  if (!Number.isInteger(config.PRODUCT_TIMEOUT_MS) || config.PRODUCT_TIMEOUT_MS < 1) {
    throw new ConfigError('Invalid configuration: PRODUCT_TIMEOUT_MS is invalid: must be a positive integer of milliseconds');
  }
  return { ...config, JWKS_URL: jwksUrl };
}
