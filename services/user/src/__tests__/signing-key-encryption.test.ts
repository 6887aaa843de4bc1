import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { createPool, runMigrations, TOKEN_ALGORITHM, type App, type Pool } from '@mini/shared';
import { createDatabase, freePort } from '@mini/shared/testing';
import { decryptPrivateJwk, encryptPrivateJwk, generateKeyEncryptionKey, KeyDecryptionError } from '../key-encryption.js';
import { createSigningKeyRepository } from '../repository.js';
import { createNextSigningKey } from '../signing-keys.js';
import { createUserDatabase, startUserService, TEST_CONFIG, TEST_KEK, uniqueName } from './helpers.js';

// The private signing keys in user_db are encrypted with SIGNING_KEY_ENCRYPTION_KEY: never in the
// clear, bound to their row, refused (and left alone) under another key, and those an earlier
// version stored in the clear are encrypted on the first start.
const SERVICE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const MIGRATIONS_DIR = join(SERVICE_DIR, 'migrations');
const BEFORE_ENCRYPTION = ['1764000000000_create-users.sql', '1764000000001_create-signing-keys.sql'];
const apps: App[] = [];
const pools: Pool[] = [];

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(pools.map((pool) => pool.end()));
});

async function freshPool() {
  const { pool } = await createUserDatabase();
  pools.push(pool);
  return pool;
}

async function boot(pool: Pool, overrides: Parameters<typeof startUserService>[1] = {}) {
  const service = await startUserService(pool, overrides, { keyActivationMs: 0 });
  apps.push(service.app);
  return service;
}

interface KeyRow {
  kid: string;
  generation: number;
  private_jwk: Record<string, unknown> | null;
  private_jwk_encrypted: string | null;
  text: string;
}

/** Every stored key row as PostgreSQL holds it, and as text (all its columns). */
async function keyRows(pool: Pool): Promise<KeyRow[]> {
  const { rows } = await pool.query<KeyRow>(
    'SELECT kid, generation, private_jwk, private_jwk_encrypted, row_to_json(k)::text AS text FROM signing_keys k ORDER BY generation',
  );
  return rows;
}

/** The ways the private key could be written down: the JWK `d`, its bytes as base64 or hex, the PKCS#8 PEM/DER. */
function spellingsOf(privateJwk: Record<string, unknown>): string[] {
  const d = privateJwk.d as string;
  const der = createPrivateKey({ key: privateJwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'der' });
  return [d, Buffer.from(d, 'base64url').toString('base64'), Buffer.from(d, 'base64url').toString('hex'), der.toString('base64')];
}

/** A database as the version before encryption left it: its migrations only, and a key stored in the clear. */
async function databaseFromBeforeEncryption() {
  const url = await createDatabase(inject('postgresUrl'), 'user_legacy');
  const dir = await mkdtemp(join(tmpdir(), 'user-migrations-'));
  try {
    for (const file of BEFORE_ENCRYPTION) await copyFile(join(MIGRATIONS_DIR, file), join(dir, file));
    await runMigrations({ databaseUrl: url, dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const pool = createPool(url, { max: 5 });
  pools.push(pool);
  const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x! };
  const kid = await calculateJwkThumbprint(publicJwk);
  await pool.query(`INSERT INTO signing_keys (kid, generation, algorithm, private_jwk, public_jwk) VALUES ($1, 1, 'EdDSA', $2, $3)`, [
    kid,
    JSON.stringify(privateJwk),
    JSON.stringify({ ...publicJwk, kid, alg: TOKEN_ALGORITHM, use: 'sig' }),
  ]);
  // A user and a token the earlier version signed for them.
  const username = uniqueName('legacy');
  const { rows } = await pool.query<{ id: string }>(
    "INSERT INTO users (username, password_hash, role) VALUES ($1, 'not-a-hash', 'user') RETURNING id",
    [username],
  );
  const token = await new SignJWT({ username, role: 'user' })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid })
    .setSubject(rows[0]!.id)
    .setIssuer(TEST_CONFIG.JWT_ISSUER)
    .setAudience(TEST_CONFIG.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(randomUUID())
    .sign(privateKey);
  await runMigrations({ databaseUrl: url, dir: MIGRATIONS_DIR });
  return { pool, url, kid, privateJwk, token };
}

/** The user service as a process (src/main.ts): its exit code and what it wrote on stderr. */
function runService(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: SERVICE_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'silent', ADMIN_PASSWORD: 'admin-password-for-tests', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the user service did not exit: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the private signing keys at rest', () => {
  test('when keys are created and rotated, then no row holds a private key in the clear, only v1 ciphertexts that decrypt to it', async () => {
    const pool = await freshPool();
    const service = await boot(pool);
    await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    const rows = await keyRows(pool);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.private_jwk).toBeNull();
      // version . 12-byte IV . ciphertext . 16-byte tag, base64url each
      expect(row.private_jwk_encrypted).toMatch(/^v1\.[\w-]{16}\.[\w-]{40,}\.[\w-]{22}$/);
      const privateJwk = decryptPrivateJwk(row.private_jwk_encrypted!, row.kid, TEST_KEK);
      expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', d: expect.any(String) });
      for (const spelling of spellingsOf(privateJwk)) expect(row.text).not.toContain(spelling);
    }
    expect((await service.register()).token).toEqual(expect.any(String));
  });

  test('a ciphertext decrypts only for its own kid and key-encryption key, untouched and in a known format', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'secret-d' };
    const encrypted = encryptPrivateJwk(jwk, 'kid-a', TEST_KEK);
    expect(decryptPrivateJwk(encrypted, 'kid-a', TEST_KEK)).toEqual(jwk);
    expect(encryptPrivateJwk(jwk, 'kid-a', TEST_KEK)).not.toBe(encrypted); // a fresh IV each time
    const [version, iv, ciphertext, tag] = encrypted.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    for (const [candidate, kid, kek] of [
      [encrypted, 'kid-b', TEST_KEK],
      [encrypted, 'kid-a', Buffer.from(generateKeyEncryptionKey(), 'base64')],
      [[version, iv, flipped.toString('base64url'), tag].join('.'), 'kid-a', TEST_KEK],
      [encrypted.replace(/^v1\./, 'v2.'), 'kid-a', TEST_KEK],
    ] as const) {
      expect(() => decryptPrivateJwk(candidate, kid, kek)).toThrow(KeyDecryptionError);
    }
  });

  test('when one row holds the ciphertext of another, then the start is refused naming that kid, and nothing is changed', async () => {
    const pool = await freshPool();
    await boot(pool);
    const second = await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    await pool.query(
      'UPDATE signing_keys SET private_jwk_encrypted = (SELECT private_jwk_encrypted FROM signing_keys WHERE generation = 1) WHERE generation = 2',
    );
    const before = await keyRows(pool);
    await expect(boot(pool)).rejects.toThrow(
      new RegExp(`^SIGNING_KEY_ENCRYPTION_KEY decrypts the signing keys in the database except kid ${second!.kid}: .*nothing was changed$`),
    );
    expect(await keyRows(pool)).toEqual(before);
  });

  test('when the key-encryption key is another, then the start is refused in one line naming the setting, and no row is touched', async () => {
    const { pool } = await databaseFromBeforeEncryption();
    // A key encrypted with the right KEK beside one still in the clear: neither may change.
    await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    const before = await keyRows(pool);
    const error = await boot(pool, { SIGNING_KEY_ENCRYPTION_KEY: generateKeyEncryptionKey() }).catch((failure: Error) => failure);
    expect(error).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/^SIGNING_KEY_ENCRYPTION_KEY is not the key the signing keys in the database were encrypted with/),
    });
    expect((error as Error).message).not.toContain('\n');
    expect(await keyRows(pool)).toEqual(before);
    expect(before.map((row) => row.private_jwk === null)).toEqual([false, true]);
  });

  test('when a rotation elsewhere stores a key under another key-encryption key, then a running service neither publishes nor signs with it', async () => {
    const pool = await freshPool();
    const service = await boot(pool);
    const before = await service.register();
    await createNextSigningKey(createSigningKeyRepository(pool), Buffer.from(generateKeyEncryptionKey(), 'base64'));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the once-a-second reload limit
    const jwks = await service.call({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.json().keys.map((key: { kid: string }) => key.kid)).toEqual([decodeProtectedHeader(before.token).kid]);
    expect(decodeProtectedHeader((await service.register()).token).kid).toBe(decodeProtectedHeader(before.token).kid);
  });

  test('without a key-encryption key, keys in the database are refused; a JWT_PRIVATE_KEY needs none', async () => {
    const pool = await freshPool();
    await expect(boot(pool, { SIGNING_KEY_ENCRYPTION_KEY: '' })).rejects.toThrow(/^SIGNING_KEY_ENCRYPTION_KEY is required but not set/);
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const service = await boot(pool, { SIGNING_KEY_ENCRYPTION_KEY: '', JWT_PRIVATE_KEY: pem });
    expect((await service.register()).token).toEqual(expect.any(String));
    expect(await keyRows(pool)).toEqual([]);
  });
});

describe('keys an earlier version stored in the clear', () => {
  test('on the first start with the key set, they are encrypted in place; tokens signed with them before still verify', async () => {
    const legacy = await databaseFromBeforeEncryption();
    expect((await keyRows(legacy.pool))[0]!.text).toContain(legacy.privateJwk.d); // what the checks below would catch
    // Two replicas upgrading at once: one encrypts the row, the other finds it done.
    const [service] = await Promise.all([boot(legacy.pool), boot(legacy.pool)]);
    const [row] = await keyRows(legacy.pool);
    expect(row).toMatchObject({ kid: legacy.kid, private_jwk: null, private_jwk_encrypted: expect.stringMatching(/^v1\./) });
    expect(decryptPrivateJwk(row!.private_jwk_encrypted!, legacy.kid, TEST_KEK)).toEqual(legacy.privateJwk);
    for (const spelling of spellingsOf(legacy.privateJwk)) expect(row!.text).not.toContain(spelling);

    const me = await service.call({ method: 'GET', url: '/users/me', headers: { authorization: `Bearer ${legacy.token}` } });
    expect(me.statusCode, me.body).toBe(200);
    expect(decodeProtectedHeader((await service.register()).token).kid).toBe(legacy.kid);
  });

  test('when an earlier version still running stores one in the clear, then the next reload encrypts it and signs with it', async () => {
    const pool = await freshPool();
    const service = await boot(pool);
    const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x! });
    await pool.query(`INSERT INTO signing_keys (kid, generation, algorithm, private_jwk, public_jwk) VALUES ($1, 2, 'EdDSA', $2, $3)`, [
      kid,
      JSON.stringify(privateJwk),
      JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, kid, alg: TOKEN_ALGORITHM, use: 'sig' }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the once-a-second reload limit
    const jwks = await service.call({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.json().keys[0].kid).toBe(kid);
    expect((await keyRows(pool)).map((row) => row.private_jwk)).toEqual([null, null]);
    expect(decodeProtectedHeader((await service.register()).token).kid).toBe(kid);
  });
});

describe('the user service process', () => {
  test('with another SIGNING_KEY_ENCRYPTION_KEY, or none in production, it exits 1 with one plain line', async () => {
    const { url, pool } = await createUserDatabase();
    pools.push(pool);
    await boot(pool);
    const base = { PORT: String(await freePort()), DATABASE_URL: url, JWT_PRIVATE_KEY: '' };

    const wrongKey = await runService({ ...base, NODE_ENV: 'test', SIGNING_KEY_ENCRYPTION_KEY: generateKeyEncryptionKey() });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^SIGNING_KEY_ENCRYPTION_KEY is not the key the signing keys in the database were encrypted with/),
    ]);

    const production = await runService({ ...base, NODE_ENV: 'production', SIGNING_KEY_ENCRYPTION_KEY: '' });
    expect(production.code).toBe(1);
    expect(production.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration: SIGNING_KEY_ENCRYPTION_KEY is required but not set: .*unless JWT_PRIVATE_KEY is set$/),
    ]);
  }, 60_000);
});
