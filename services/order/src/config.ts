import { ConfigError, getConfig, num, port, str, url } from '@mini/shared';

/** Every setting of the order service: read once at start (see DESIGN.md "Configuration"). */
export const configSchema = {
  PORT: port({ default: 3003 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ default: 'production', choices: ['development', 'test', 'production'] }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/order_db', desc: 'PostgreSQL URL of order_db' }),
  USER_SERVICE_URL: url({ default: 'http://127.0.0.1:3001' }),
  /** Empty means `${USER_SERVICE_URL}/.well-known/jwks.json`. */
  JWKS_URL: str({ default: '' }),
  PRODUCT_SERVICE_URL: url({ default: 'http://127.0.0.1:3002' }),
  PRODUCT_TIMEOUT_MS: num({ default: 2000 }),
  JWT_ISSUER: str({ default: 'mini-ecommerce-user-service' }),
  JWT_AUDIENCE: str({ default: 'mini-ecommerce' }),
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads and checks the settings; throws a `ConfigError` naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  const jwksUrl = config.JWKS_URL || `${config.USER_SERVICE_URL.replace(/\/$/, '')}/.well-known/jwks.json`;
  if (!URL.canParse(jwksUrl)) throw new ConfigError(`Invalid configuration: JWKS_URL is invalid: not a URL`);
  if (!Number.isInteger(config.PRODUCT_TIMEOUT_MS) || config.PRODUCT_TIMEOUT_MS < 1) {
    throw new ConfigError('Invalid configuration: PRODUCT_TIMEOUT_MS is invalid: must be a positive integer of milliseconds');
  }
  return { ...config, JWKS_URL: jwksUrl };
}
