import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import type { App, Pool } from '@mini/shared';
import { decryptPrivateJwk } from '../key-encryption.js';
import { createUserDatabase, startUserService, TEST_KEK, uniqueName } from './helpers.js';

// Every test here boots apps on a database of its own or with names of its own.
const pools: Pool[] = [];
const apps: App[] = [];

async function freshDatabase() {
  const { pool } = await createUserDatabase();
  pools.push(pool);
  return pool;
}

async function boot(pool: Pool, overrides: Parameters<typeof startUserService>[1] = {}) {
  const service = await startUserService(pool, overrides);
  apps.push(service.app);
  return service;
}

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(pools.map((pool) => pool.end()));
});

async function countUsersNamed(pool: Pool, username: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE lower(username) = lower($1)', [username]);
  return rows[0]!.n;
}

async function loginStatus(service: Awaited<ReturnType<typeof boot>>, username: string, password: string) {
  return (await service.call({ method: 'POST', url: '/users/login', payload: { username, password } })).statusCode;
}

describe('admin seeding', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await freshDatabase();
  });

  test('on first boot the admin is created; a reboot with another ADMIN_PASSWORD does not overwrite it', async () => {
    const username = uniqueName('Chief');
    const first = await boot(pool, { ADMIN_USERNAME: username, ADMIN_PASSWORD: 'first-password-1' });
    const { user } = await first.login(username.toLowerCase(), 'first-password-1');
    expect(user).toMatchObject({ username, role: 'admin' });

    const second = await boot(pool, { ADMIN_USERNAME: username.toUpperCase(), ADMIN_PASSWORD: 'second-password-2' });
    expect(await loginStatus(second, username, 'first-password-1')).toBe(200);
    expect(await loginStatus(second, username, 'second-password-2')).toBe(401);
    expect(await countUsersNamed(pool, username)).toBe(1);
  });

  test('when ADMIN_USERNAME names an existing plain user, then that user is neither promoted nor given the admin password', async () => {
    const first = await boot(pool, { ADMIN_USERNAME: uniqueName('admin') });
    const { user, password } = await first.register(uniqueName('Boss'), 'bosses-password');
    const second = await boot(pool, { ADMIN_USERNAME: user.username.toUpperCase(), ADMIN_PASSWORD: 'would-be-admin-pw' });
    expect((await second.login(user.username, password)).user.role).toBe('user');
    expect(await loginStatus(second, user.username, 'would-be-admin-pw')).toBe(401);
  });

  test('when a user tries to register the admin name in another case, then 409', async () => {
    const username = uniqueName('Root');
    const service = await boot(pool, { ADMIN_USERNAME: username });
    const res = await service.call({
      method: 'POST',
      url: '/users/register',
      payload: { username: username.toLowerCase(), password: 'a-good-password' },
    });
    expect(res.statusCode).toBe(409);
  });
});

describe('signing keys kept in the database', () => {
  test('replicas booting together on an empty database settle on one key and one admin; their tokens verify on each other', async () => {
    const pool = await freshDatabase();
    const replicas = await Promise.all([boot(pool), boot(pool), boot(pool)]);

    const kids = await Promise.all(
      replicas.map(async (replica) =>
        (await replica.call({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys.map((key: { kid: string }) => key.kid),
      ),
    );
    expect(kids[0]).toHaveLength(1);
    expect(kids[1]).toEqual(kids[0]);
    expect(kids[2]).toEqual(kids[0]);
    expect((await pool.query('SELECT kid FROM signing_keys')).rows).toEqual([{ kid: kids[0]![0] }]);
    expect(await countUsersNamed(pool, 'admin')).toBe(1);

    const [a, b] = replicas;
    const fromA = await a.register();
    const fromB = await b.register();
    expect((await b.call({ method: 'GET', url: '/users/me', headers: fromA.headers })).json().user.id).toBe(fromA.user.id);
    expect((await a.call({ method: 'GET', url: '/users/me', headers: fromB.headers })).json().user.id).toBe(fromB.user.id);
  });

  test('a reboot keeps the key: tokens issued before still verify; the JWKS never shows the private part', async () => {
    const pool = await freshDatabase();
    const before = await boot(pool);
    const { headers, token, user } = await before.register();
    const after = await boot(pool);
    expect((await after.call({ method: 'GET', url: '/users/me', headers })).json().user.id).toBe(user.id);

    const res = await after.call({ method: 'GET', url: '/.well-known/jwks.json' });
    const [key] = res.json().keys;
    expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(res.body).not.toContain('"d"');
    expect(key.kid).toBe(decodeProtectedHeader(token).kid);
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x }));
    // The private half is stored, encrypted (that is what lets replicas share it), just never served.
    const { rows } = await pool.query<{ private_jwk_encrypted: string }>('SELECT private_jwk_encrypted FROM signing_keys');
    const { d } = decryptPrivateJwk(rows[0]!.private_jwk_encrypted, key.kid, TEST_KEK);
    expect(d).toEqual(expect.any(String));
    expect(res.body).not.toContain(d);
  });
});

describe('GET /openapi.json', () => {
  test('documents every route with tags, security on guarded ones, and no password in any answer schema', async () => {
    const pool = await freshDatabase();
    const service = await boot(pool);
    // Read with inject directly: the document rightly names the password field of request bodies.
    const doc = (await service.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/.well-known/jwks.json',
      '/users',
      '/users/login',
      '/users/me',
      '/users/me/password',
      '/users/register',
      '/users/{id}',
    ]);
    expect(doc.paths['/users/me/password'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/users/{id}'].patch.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.paths['/users/{id}'].patch.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '500',
      '503',
    ]);
    expect(doc.paths['/users/register'].post.tags).toEqual(['users']);
    expect(doc.paths['/users/me'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/users'].get.security).toEqual([{ bearerAuth: [] }]);
    // Public, and said so: OpenAPI's empty security requirement.
    expect(doc.paths['/users/register'].post.security).toEqual([{}]);
    expect(Object.keys(doc.paths['/users/{id}'].get.responses).sort()).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    const operations = Object.values(doc.paths as Record<string, Record<string, { responses: unknown }>>).flatMap((path) =>
      Object.values(path),
    );
    const answers = JSON.stringify(operations.map((operation) => operation.responses));
    expect(answers.toLowerCase()).not.toContain('password');
  });
});
