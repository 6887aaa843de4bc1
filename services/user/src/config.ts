import { createPrivateKey } from 'node:crypto';
import { ConfigError, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, getConfig, isProduction, num, port, str, url } from '@mini/shared';
import { keyEncryptionKeyProblem } from './key-encryption.js';
import { passwordProblem, usernameProblem } from './rules.js';

/** Development-only admin password: applies only when NODE_ENV is development or test; production requires a real one. */
export const DEV_ONLY_ADMIN_PASSWORD = 'dev-only-admin-password';
/**
 * Development-only key-encryption key (43 base64url characters: 32 bytes), public, for a service
 * run on its own in development or test; npm start passes the one it generated for this install.
 */
export const DEV_ONLY_SIGNING_KEY_ENCRYPTION_KEY = 'dev-only-signing-key-encryption-key-for-dev';

/** Every setting of the user service (envalid specs; read by the deployment checks too). */
export const configSchema = {
  // Unset counts as production (getConfig): development defaults need NODE_ENV=development or test.
  NODE_ENV: str({ choices: ['development', 'test', 'production'], default: 'production' }),
  PORT: port({ default: 3001 }),
  HOST: str({ default: '0.0.0.0' }),
  LOG_LEVEL: str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }),
  DATABASE_URL: url({ devDefault: 'postgres://postgres:postgres@127.0.0.1:5432/user_db' }),
  JWT_ISSUER: str({ default: 'mini-ecommerce-user-service' }),
  JWT_AUDIENCE: str({ default: 'mini-ecommerce' }),
  JWT_PRIVATE_KEY: str({ default: '', desc: 'PKCS#8 PEM of an Ed25519 key; empty keeps the signing key in user_db' }),
  // A default of '' rather than none: a JWT_PRIVATE_KEY deployment needs no key-encryption key (loadConfig checks the rest).
  SIGNING_KEY_ENCRYPTION_KEY: str({
    default: '',
    devDefault: DEV_ONLY_SIGNING_KEY_ENCRYPTION_KEY,
    desc: '32 random bytes, base64 (openssl rand -base64 32): encrypts the signing keys kept in user_db; production requires it unless JWT_PRIVATE_KEY is set',
  }),
  TOKEN_TTL_SECONDS: num({ default: 3600 }),
  ADMIN_USERNAME: str({ default: 'admin' }),
  ADMIN_PASSWORD: str({ devDefault: DEV_ONLY_ADMIN_PASSWORD, desc: 'password of the admin seeded at first boot' }),
};

export type Config = ReturnType<typeof loadConfig>;

/** Reads the settings once; throws a `ConfigError` naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = getConfig(configSchema, env);
  // Orchestrators often flatten a PEM to one line with literal "\n".
  const privateKey = config.JWT_PRIVATE_KEY.replace(/\\n/g, '\n').trim();
  const problems = [
    check(
      'TOKEN_TTL_SECONDS',
      !Number.isInteger(config.TOKEN_TTL_SECONDS) || config.TOKEN_TTL_SECONDS <= 0
        ? 'must be a positive whole number of seconds'
        : config.TOKEN_TTL_SECONDS > DEFAULT_MAX_TOKEN_LIFETIME_SECONDS
          ? `must be at most ${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}: every service refuses tokens that live longer`
          : null,
    ),
    check('ADMIN_USERNAME', usernameProblem(config.ADMIN_USERNAME)),
    check('ADMIN_PASSWORD', passwordProblem(config.ADMIN_PASSWORD)),
    check('JWT_PRIVATE_KEY', privateKey ? ed25519KeyProblem(privateKey) : null),
    config.SIGNING_KEY_ENCRYPTION_KEY
      ? check('SIGNING_KEY_ENCRYPTION_KEY', keyEncryptionKeyProblem(config.SIGNING_KEY_ENCRYPTION_KEY))
      : !privateKey && isProduction(env)
        ? 'SIGNING_KEY_ENCRYPTION_KEY is required but not set: it encrypts the signing keys kept in user_db (openssl rand -base64 32), unless JWT_PRIVATE_KEY is set'
        : null,
  ].filter((problem): problem is string => problem !== null);
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return { ...config, JWT_PRIVATE_KEY: privateKey };
}

function check(name: string, problem: string | null): string | null {
  return problem === null ? null : `${name} is invalid: ${problem}`;
}

function ed25519KeyProblem(pem: string): string | null {
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    return key.asymmetricKeyType === 'ed25519' ? null : `must be an Ed25519 key, got ${key.asymmetricKeyType ?? 'an unknown type'}`;
  } catch {
    return 'must be a PKCS#8 PEM private key';
  }
}
