import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { InjectOptions } from 'fastify';
import { expect, inject } from 'vitest';
import { createLogger, createPool, runMigrations, type App, type Pool } from '@mini/shared';
import { createDatabase } from '@mini/shared/testing';
import { buildApp, type AppConfig, type AppDeps } from '../app.js';
import { decodeKeyEncryptionKey, generateKeyEncryptionKey } from '../key-encryption.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export const TEST_CONFIG: AppConfig = {
  JWT_ISSUER: 'mini-ecommerce-user-service',
  JWT_AUDIENCE: 'mini-ecommerce',
  JWT_PRIVATE_KEY: '',
  SIGNING_KEY_ENCRYPTION_KEY: generateKeyEncryptionKey(),
  TOKEN_TTL_SECONDS: 3600,
  ADMIN_USERNAME: 'admin',
  ADMIN_PASSWORD: 'admin-password-for-tests',
};

/** The key-encryption key of TEST_CONFIG, as the signing-key functions take it. */
export const TEST_KEK = decodeKeyEncryptionKey(TEST_CONFIG.SIGNING_KEY_ENCRYPTION_KEY);

/** A fresh, migrated user database and a pool on it. */
export async function createUserDatabase(): Promise<{ url: string; pool: Pool }> {
  const url = await createDatabase(inject('postgresUrl'), 'user');
  await runMigrations({ databaseUrl: url, dir: MIGRATIONS_DIR });
  return { url, pool: createPool(url, { max: 5 }) };
}

export function uniqueName(prefix = 'u'): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** The app on `pool` with the test settings (overridable), and helpers that call it. */
export async function startUserService(
  pool: Pool,
  overrides: Partial<AppConfig> = {},
  keys: Pick<AppDeps, 'keyReloadMs' | 'keyActivationMs'> = {},
) {
  const config = { ...TEST_CONFIG, ...overrides };
  const app = await buildApp({ config, logger: createLogger('user-service', { level: 'silent' }), pool, ...keys });
  return { app, config, ...clientFor(app) };
}

/** Calls `app`, checking on every answer that no password hash leaves (and no success even names a password). */
export function clientFor(app: App) {
  async function call(options: InjectOptions) {
    const res = await app.inject(options);
    expect(res.body).not.toContain('$argon2');
    if (res.statusCode < 400) expect(res.body.toLowerCase()).not.toContain('password');
    return res;
  }

  async function register(username = uniqueName(), password = 'a-good-password') {
    const res = await call({ method: 'POST', url: '/users/register', payload: { username, password } });
    expect(res.statusCode, res.body).toBe(201);
    const { user, token } = res.json();
    return { user, token: token as string, password, headers: bearer(token) };
  }

  async function login(username: string, password: string) {
    const res = await call({ method: 'POST', url: '/users/login', payload: { username, password } });
    expect(res.statusCode, res.body).toBe(200);
    const { user, token } = res.json();
    return { user, token: token as string, headers: bearer(token) };
  }

  return { call, register, login };
}
