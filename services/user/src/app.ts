import { createApp, createTokenVerifier, type App, type Logger, type Pool } from '@mini/shared';
import type { Config } from './config.js';
import { createSigningKeyRepository, createUserRepository } from './repository.js';
import { userRoutes } from './routes.js';
import { createPasswordHasher } from './security.js';
import { createUserService, seedAdmin } from './service.js';
import { loadSigningKeys } from './signing-keys.js';
import { createTokenIssuer } from './tokens.js';

export const SERVICE_NAME = 'user-service';

/** The settings `buildApp` reads. */
export type AppConfig = Pick<
  Config,
  | 'JWT_ISSUER'
  | 'JWT_AUDIENCE'
  | 'JWT_PRIVATE_KEY'
  | 'SIGNING_KEY_ENCRYPTION_KEY'
  | 'TOKEN_TTL_SECONDS'
  | 'ADMIN_USERNAME'
  | 'ADMIN_PASSWORD'
>;

export interface AppDeps {
  config: AppConfig;
  logger: Logger;
  /** A pool on this service's migrated database; the caller closes it. */
  pool: Pool;
  /** How often the stored signing keys are checked for a rotated one (tests shorten it). */
  keyReloadMs?: number;
  /** How long a rotated key is published before it signs (tests shorten it). */
  keyActivationMs?: number;
}

/**
 * The user service: loads (or creates) the signing key, seeds the admin account,
 * and returns the app, not yet listening.
 */
export async function buildApp({ config, logger, pool, keyReloadMs, keyActivationMs }: AppDeps): Promise<App> {
  const users = createUserRepository(pool);
  const [signingKeys, passwords] = await Promise.all([
    loadSigningKeys({
      privateKeyPem: config.JWT_PRIVATE_KEY,
      encryptionKey: config.SIGNING_KEY_ENCRYPTION_KEY,
      repository: createSigningKeyRepository(pool),
      logger,
      ttlSeconds: config.TOKEN_TTL_SECONDS,
      reloadMs: keyReloadMs,
      activationMs: keyActivationMs,
    }),
    createPasswordHasher(),
  ]);
  await seedAdmin({ users, passwords, username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD, logger });

  const issueToken = createTokenIssuer({
    signingKeys,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.TOKEN_TTL_SECONDS,
  });
  // This service verifies its own tokens from its own public keys: no HTTP call to itself.
  const verifyToken = createTokenVerifier({
    keys: signingKeys.getKey,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  const service = createUserService({ users, passwords, issueToken });

  // Another replica answering the JWKS (or verifying) must know a key this one just rotated to.
  const jwks = async () => {
    await signingKeys.refresh();
    return signingKeys.jwks();
  };
  const app = await createApp({
    serviceName: SERVICE_NAME,
    logger,
    routes: userRoutes({ service, verifyToken, jwks }),
    readiness: { database: () => pool.query('SELECT 1') },
    openapi: {
      title: 'Mini eCommerce user service',
      version: '0.1.0',
      description: 'Accounts, sign-in and the public keys that verify access tokens.',
    },
  });
  app.addHook('onClose', async () => signingKeys.close());
  return app;
}
