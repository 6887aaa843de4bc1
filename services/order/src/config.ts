import { ConfigError, eventBusSettings, getConfig, num, parseOriginList, port, resolveJwksUrl, str, tokenVerifierSettings, url } from '@mini/shared';

/** Every setting of the order service: read once at start (see DESIGN.md "Configuration"). */
export const configSchema = {
  PORT: port({ default: 3003 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ default: 'production', choices: ['development', 'test', 'production'] }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/order_db', desc: 'PostgreSQL URL of order_db' }),
  PRODUCT_SERVICE_URL: str({
    default: 'http://127.0.0.1:3002',
    desc: 'origin of the product service (a comma-separated list: a lookup a replica refuses goes to the next)',
  }),
  PRODUCT_TIMEOUT_MS: num({ default: 2000 }),
  ...eventBusSettings,
  ...tokenVerifierSettings,
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads and checks the settings; throws a `ConfigError` naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  const jwksUrl = resolveJwksUrl(config);
  const problems: string[] = [];
  const productOrigins = parseOriginList('PRODUCT_SERVICE_URL', config.PRODUCT_SERVICE_URL, problems);
  if (!Number.isInteger(config.PRODUCT_TIMEOUT_MS) || config.PRODUCT_TIMEOUT_MS < 1) {
    problems.push('PRODUCT_TIMEOUT_MS is invalid: must be a positive integer of milliseconds');
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return { ...config, JWKS_URL: jwksUrl, productOrigins };
}
