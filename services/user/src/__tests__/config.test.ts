import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { configSchema, DEV_ONLY_ADMIN_PASSWORD, DEV_ONLY_SIGNING_KEY_ENCRYPTION_KEY, loadConfig } from '../config.js';
import { generateKeyEncryptionKey } from '../key-encryption.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db:5432/user_db',
  ADMIN_PASSWORD: 'a-real-secret-password',
  SIGNING_KEY_ENCRYPTION_KEY: generateKeyEncryptionKey(),
};

describe('loadConfig', () => {
  test('in development, every setting has a default', () => {
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({
      PORT: 3001,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/user_db',
      JWT_ISSUER: 'mini-ecommerce-user-service',
      JWT_AUDIENCE: 'mini-ecommerce',
      JWT_PRIVATE_KEY: '',
      SIGNING_KEY_ENCRYPTION_KEY: DEV_ONLY_SIGNING_KEY_ENCRYPTION_KEY,
      TOKEN_TTL_SECONDS: 3600,
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD: DEV_ONLY_ADMIN_PASSWORD,
    });
  });

  test.each([{ NODE_ENV: 'production' }, {}])(
    'in production (or with NODE_ENV unset: %o), DATABASE_URL and ADMIN_PASSWORD are required',
    (env) => {
      expect(() => loadConfig(env)).toThrow(
        /DATABASE_URL is required but not set.*ADMIN_PASSWORD is required but not set|ADMIN_PASSWORD is required but not set.*DATABASE_URL is required/,
      );
    },
  );

  test('in production, given values are used', () => {
    expect(loadConfig(PRODUCTION)).toMatchObject({ DATABASE_URL: PRODUCTION.DATABASE_URL, ADMIN_PASSWORD: PRODUCTION.ADMIN_PASSWORD });
  });

  test('in production, the development-only admin password is refused even when set explicitly', () => {
    expect(() => loadConfig({ ...PRODUCTION, ADMIN_PASSWORD: DEV_ONLY_ADMIN_PASSWORD })).toThrow(
      /ADMIN_PASSWORD is the development default, which production refuses/,
    );
  });

  test.each([
    [{ ADMIN_USERNAME: 'ad' }, /ADMIN_USERNAME is invalid: must be 3 to 32/],
    [{ ADMIN_USERNAME: 'the admin' }, /ADMIN_USERNAME is invalid: may only contain/],
    [{ ADMIN_PASSWORD: 'short' }, /ADMIN_PASSWORD is invalid: must be 8 to 128/],
    [{ TOKEN_TTL_SECONDS: '0' }, /TOKEN_TTL_SECONDS is invalid/],
    [{ TOKEN_TTL_SECONDS: '1.5' }, /TOKEN_TTL_SECONDS is invalid/],
    [{ TOKEN_TTL_SECONDS: '86400' }, /TOKEN_TTL_SECONDS is invalid: must be at most 3600/],
    [{ JWT_PRIVATE_KEY: 'not a pem' }, /JWT_PRIVATE_KEY is invalid: must be a PKCS#8 PEM/],
    [{ PORT: 'abc' }, /PORT is invalid/],
    [{ SIGNING_KEY_ENCRYPTION_KEY: 'too-short' }, /SIGNING_KEY_ENCRYPTION_KEY is invalid: must be 32 random bytes in base64/],
    [{ SIGNING_KEY_ENCRYPTION_KEY: Buffer.alloc(24).toString('base64') }, /SIGNING_KEY_ENCRYPTION_KEY is invalid/],
  ])('rejects %o with one clear line', (env, message) => {
    expect(() => loadConfig({ NODE_ENV: 'development', ...env })).toThrow(message);
  });

  test('JWT_PRIVATE_KEY: an RSA key is refused, an Ed25519 key is accepted, also with escaped newlines', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadConfig({ NODE_ENV: 'development', JWT_PRIVATE_KEY: rsa })).toThrow(
      /JWT_PRIVATE_KEY is invalid: must be an Ed25519 key, got rsa/,
    );
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(loadConfig({ NODE_ENV: 'development', JWT_PRIVATE_KEY: pem }).JWT_PRIVATE_KEY).toBe(pem.trim());
    expect(loadConfig({ NODE_ENV: 'development', JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n') }).JWT_PRIVATE_KEY).toBe(pem.trim());
  });

  test('SIGNING_KEY_ENCRYPTION_KEY: production requires it while the keys live in the database, refuses the dev-only one, and needs none with JWT_PRIVATE_KEY', () => {
    const { SIGNING_KEY_ENCRYPTION_KEY: _unset, ...withoutKey } = PRODUCTION;
    expect(() => loadConfig(withoutKey)).toThrow(
      /^Invalid configuration: SIGNING_KEY_ENCRYPTION_KEY is required but not set: .*\(openssl rand -base64 32\), unless JWT_PRIVATE_KEY is set$/,
    );
    expect(() => loadConfig({ ...PRODUCTION, SIGNING_KEY_ENCRYPTION_KEY: DEV_ONLY_SIGNING_KEY_ENCRYPTION_KEY })).toThrow(
      /SIGNING_KEY_ENCRYPTION_KEY is the development default, which production refuses/,
    );
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(loadConfig({ ...withoutKey, JWT_PRIVATE_KEY: pem }).SIGNING_KEY_ENCRYPTION_KEY).toBe('');
    expect(loadConfig(PRODUCTION).SIGNING_KEY_ENCRYPTION_KEY).toBe(PRODUCTION.SIGNING_KEY_ENCRYPTION_KEY);
    // base64url (no padding) is as good: 43 characters.
    const urlSafe = Buffer.from(PRODUCTION.SIGNING_KEY_ENCRYPTION_KEY, 'base64').toString('base64url');
    expect(loadConfig({ ...PRODUCTION, SIGNING_KEY_ENCRYPTION_KEY: urlSafe }).SIGNING_KEY_ENCRYPTION_KEY).toBe(urlSafe);
  });

  test('configSchema gives every setting but the secrets a plain default', () => {
    const withoutDefault = Object.entries(configSchema)
      .filter(([, spec]) => !('default' in spec))
      .map(([name]) => name);
    expect(withoutDefault.sort()).toEqual(['ADMIN_PASSWORD', 'DATABASE_URL']);
  });
});
