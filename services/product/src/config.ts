import { ConfigError, getConfig, port, str, url } from '@mini/shared';

/** Every setting the product service reads; the deployment checks set each one without a `default`. */
export const configSchema = {
  PORT: port({ default: 3002, desc: 'HTTP port' }),
  HOST: str({ default: '0.0.0.0', desc: 'Interface to listen on' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ default: 'production', choices: ['development', 'production', 'test'] }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/product_db', desc: 'PostgreSQL URL of product_db' }),
  JWT_ISSUER: str({ default: 'mini-ecommerce-user-service', desc: 'Expected `iss` of access tokens' }),
  JWT_AUDIENCE: str({ default: 'mini-ecommerce', desc: 'Expected `aud` of access tokens' }),
  USER_SERVICE_URL: url({ default: 'http://127.0.0.1:3001', desc: 'Base URL of the user service' }),
  JWKS_URL: str({ default: '', desc: 'Public key set of the token issuer; empty means `${USER_SERVICE_URL}/.well-known/jwks.json`' }),
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads and checks the settings once; `JWKS_URL` comes back resolved to a full URL. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  const jwksUrl = config.JWKS_URL || `${config.USER_SERVICE_URL.replace(/\/+$/, '')}/.well-known/jwks.json`;
  if (!URL.canParse(jwksUrl)) throw new ConfigError(`Invalid configuration: JWKS_URL is invalid: not a URL: "${jwksUrl}"`);
  return { ...config, JWKS_URL: jwksUrl };
}
