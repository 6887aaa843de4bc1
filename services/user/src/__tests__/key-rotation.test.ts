import { afterAll, describe, expect, test } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import type { App, Pool } from '@mini/shared';
import { createSigningKeyRepository } from '../repository.js';
import { createNextSigningKey } from '../signing-keys.js';
import { createUserDatabase, startUserService, TEST_KEK } from './helpers.js';

// A rotation stores a newer key generation (what `npm run keys:rotate` does); running replicas
// pick it up without a restart, and tokens signed with the old key keep working until they expire.
const apps: App[] = [];
const pools: Pool[] = [];

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(pools.map((pool) => pool.end()));
});

// Rotated keys sign at once here; the delay before they do has a test of its own.
async function boot(pool: Pool, keyActivationMs = 0) {
  const service = await startUserService(pool, {}, { keyActivationMs });
  apps.push(service.app);
  return service;
}

async function freshPool() {
  const { pool } = await createUserDatabase();
  pools.push(pool);
  return pool;
}

// The stored keys are read again at most once a second (a flood of JWKS requests costs one query a second).
const pastRefreshLimit = () => new Promise((resolve) => setTimeout(resolve, 1_100));
const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const jwksKids = async (service: Awaited<ReturnType<typeof boot>>) =>
  ((await service.call({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as { kid: string }[]).map((key) => key.kid);

describe('signing key rotation', () => {
  test('after a rotation, the JWKS serves the old and the new key, new tokens use the new one, and old tokens still verify', async () => {
    const pool = await freshPool();
    const service = await boot(pool);
    const before = await service.register();
    const oldKid = kidOf(before.token);

    const rotated = await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    expect(rotated?.generation).toBe(2);
    await pastRefreshLimit();

    // The JWKS reads the stored keys again, so a verifier that sees the new kid finds it at once.
    expect(await jwksKids(service)).toEqual([rotated!.kid, oldKid]);
    const after = await service.register();
    expect(kidOf(after.token)).toBe(rotated!.kid);
    expect((await service.call({ method: 'GET', url: '/users/me', headers: before.headers })).statusCode).toBe(200);
    expect((await service.call({ method: 'GET', url: '/users/me', headers: after.headers })).statusCode).toBe(200);
  });

  test('a replica that has not reloaded yet still verifies a token signed with the key another one rotated to', async () => {
    const pool = await freshPool();
    const [a, b] = [await boot(pool), await boot(pool)];
    await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    await pastRefreshLimit();
    const shopper = await a.register();
    const res = await b.call({ method: 'GET', url: '/users/me', headers: shopper.headers });
    expect(res.statusCode, res.body).toBe(200);
  });

  test('a key retired longer ago than a token lives is no longer published', async () => {
    const pool = await freshPool();
    await boot(pool);
    const repository = createSigningKeyRepository(pool);
    await createNextSigningKey(repository, TEST_KEK);
    // Back-date the first key's successor: generation 1 retired two hours ago (tokens live one).
    await pool.query("UPDATE signing_keys SET created_at = now() - interval '2 hours' WHERE generation = 2");
    const third = await createNextSigningKey(repository, TEST_KEK);
    const service = await boot(pool);
    const kids = await jwksKids(service);
    const { rows } = await pool.query<{ kid: string }>('SELECT kid FROM signing_keys WHERE generation = 1');
    expect(kids).toHaveLength(2);
    expect(kids[0]).toBe(third!.kid);
    expect(kids).not.toContain(rows[0]!.kid);
  });

  test('with the usual delay, a rotated key is published at once but signs only later, so every verifier can fetch it first', async () => {
    const pool = await freshPool();
    const service = await boot(pool, 40_000);
    const before = await service.register();
    const rotated = await createNextSigningKey(createSigningKeyRepository(pool), TEST_KEK);
    await pastRefreshLimit();
    expect(await jwksKids(service)).toEqual([rotated!.kid, kidOf(before.token)]);
    expect(kidOf((await service.register()).token)).toBe(kidOf(before.token));
  });

  test('two rotations racing for the same generation store one key', async () => {
    const pool = await freshPool();
    await boot(pool);
    const repository = createSigningKeyRepository(pool);
    const results = await Promise.all([createNextSigningKey(repository, TEST_KEK, 1), createNextSigningKey(repository, TEST_KEK, 1)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await repository.findSigningKeys()).map((key) => key.generation)).toEqual([2, 1]);
  });
});
