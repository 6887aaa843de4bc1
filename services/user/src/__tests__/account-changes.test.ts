import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { createUserRepository } from '../repository.js';
import { bearer, createUserDatabase, startUserService, uniqueName } from './helpers.js';

// An admin changes roles; a user changes their own password. Each test makes its own accounts;
// the last-admin rule gets a database of its own, where the number of admins is known.
let pool: Pool;
let client: Awaited<ReturnType<typeof startUserService>>;
const apps: App[] = [];
const pools: Pool[] = [];

beforeAll(async () => {
  ({ pool } = await createUserDatabase());
  client = await startUserService(pool, { ADMIN_USERNAME: uniqueName('root'), ADMIN_PASSWORD: 'the-first-admin-password' });
  apps.push(client.app);
  pools.push(pool);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(pools.map((p) => p.end()));
});

const asAdmin = () => client.login(client.config.ADMIN_USERNAME, client.config.ADMIN_PASSWORD);

async function setRole(token: string, id: string, payload: unknown, target = client) {
  return target.call({ method: 'PATCH', url: `/users/${id}`, headers: bearer(token), payload: payload as object });
}

describe('PATCH /users/:id (role)', () => {
  test('when an admin promotes a user, then 200 with role admin, and the next sign-in carries it', async () => {
    const admin = await asAdmin();
    const shopper = await client.register();
    const res = await setRole(admin.token, shopper.user.id, { role: 'admin' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().user).toMatchObject({ id: shopper.user.id, role: 'admin' });
    const again = await client.login(shopper.user.username, shopper.password);
    expect(again.user.role).toBe('admin');
    expect((await client.call({ method: 'GET', url: '/users', headers: again.headers })).statusCode).toBe(200);
  });

  test('when a plain user tries it, then 403 and the role stays', async () => {
    const shopper = await client.register();
    const res = await setRole(shopper.token, shopper.user.id, { role: 'admin' });
    expect(res.statusCode).toBe(403);
    expect((await client.login(shopper.user.username, shopper.password)).user.role).toBe('user');
  });

  test('when there is no token, then 401', async () => {
    const res = await client.call({ method: 'PATCH', url: `/users/${randomUUID()}`, payload: { role: 'admin' } });
    expect(res.statusCode).toBe(401);
  });

  test.each([
    ['an unknown role', { role: 'owner' }],
    ['no role', {}],
    ['an unknown field', { role: 'user', username: 'renamed' }],
  ])('when the body has %s, then 400 validation_error', async (_case, payload) => {
    const admin = await asAdmin();
    const shopper = await client.register();
    const res = await setRole(admin.token, shopper.user.id, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('when the user does not exist, then 404; a malformed id is 400', async () => {
    const admin = await asAdmin();
    expect((await setRole(admin.token, randomUUID(), { role: 'admin' })).statusCode).toBe(404);
    expect((await setRole(admin.token, 'not-a-uuid', { role: 'admin' })).statusCode).toBe(400);
  });

  test('when an admin demotes another admin, then 200; demoting the last admin is 409 and they stay admin', async () => {
    // A database of its own: exactly one admin to begin with.
    const own = await createUserDatabase();
    pools.push(own.pool);
    const service = await startUserService(own.pool, { ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'the-boss-password' });
    apps.push(service.app);
    const boss = await service.login('boss', 'the-boss-password');
    const deputy = await service.register();
    expect((await setRole(boss.token, deputy.user.id, { role: 'admin' }, service)).statusCode).toBe(200);
    const deputyAsAdmin = await service.login(deputy.user.username, deputy.password);

    expect((await setRole(deputyAsAdmin.token, boss.user.id, { role: 'user' }, service)).statusCode).toBe(200);
    const last = await setRole(deputyAsAdmin.token, deputy.user.id, { role: 'user' }, service);
    expect(last.statusCode).toBe(409);
    expect(last.json().error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/last admin/) });
    expect((await service.login(deputy.user.username, deputy.password)).user.role).toBe('admin');
  });

  test('when two admins demote each other at the same moment, then exactly one admin is left', async () => {
    const own = await createUserDatabase();
    pools.push(own.pool);
    const users = createUserRepository(own.pool);
    const a = await users.insertUser({ username: 'a_admin', passwordHash: 'x', role: 'admin' });
    const b = await users.insertUser({ username: 'b_admin', passwordHash: 'x', role: 'admin' });
    const results = await Promise.all([users.updateRole(a.id, 'user'), users.updateRole(b.id, 'user')]);
    expect(results.filter((result) => result === 'last_admin')).toHaveLength(1);
    const { rows } = await own.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin'");
    expect(rows[0]!.n).toBe(1);
  });
});

describe('POST /users/me/password', () => {
  const change = (token: string, payload: object) =>
    client.call({ method: 'POST', url: '/users/me/password', headers: bearer(token), payload });

  test('when the current password is right, then 204: the new one signs in, the old one no longer does', async () => {
    const shopper = await client.register(uniqueName('pw'), 'the-old-password');
    const res = await change(shopper.token, { currentPassword: 'the-old-password', newPassword: 'the-new-password' });
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    await client.login(shopper.user.username, 'the-new-password');
    const old = await client.call({
      method: 'POST',
      url: '/users/login',
      payload: { username: shopper.user.username, password: 'the-old-password' },
    });
    expect(old.statusCode).toBe(401);
  });

  test('after a change, a token issued before it still works until it expires (as DESIGN.md says)', async () => {
    const shopper = await client.register(uniqueName('pw'), 'the-old-password');
    const res = await change(shopper.token, { currentPassword: 'the-old-password', newPassword: 'the-new-password' });
    expect(res.statusCode).toBe(204);
    expect((await client.call({ method: 'GET', url: '/users/me', headers: shopper.headers })).statusCode).toBe(200);
  });

  test('when the current password is wrong, then 401 and the password is unchanged', async () => {
    const shopper = await client.register(uniqueName('pw'), 'the-old-password');
    const res = await change(shopper.token, { currentPassword: 'not-the-password', newPassword: 'the-new-password' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe('current password is incorrect');
    await client.login(shopper.user.username, 'the-old-password');
  });

  test.each([
    ['a new password too short', { currentPassword: 'the-old-password', newPassword: 'short' }, 'newPassword'],
    ['the same password again', { currentPassword: 'the-old-password', newPassword: 'the-old-password' }, 'newPassword'],
    ['no current password', { newPassword: 'the-new-password' }, 'currentPassword'],
    ['an unknown field', { currentPassword: 'the-old-password', newPassword: 'the-new-password', username: 'x' }, 'username'],
  ])('when the body has %s, then 400 naming the field', async (_case, payload, field) => {
    const shopper = await client.register(uniqueName('pw'), 'the-old-password');
    const res = await change(shopper.token, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(field);
    await client.login(shopper.user.username, 'the-old-password');
  });

  test('when there is no token, then 401', async () => {
    const res = await client.call({
      method: 'POST',
      url: '/users/me/password',
      payload: { currentPassword: 'the-old-password', newPassword: 'the-new-password' },
    });
    expect(res.statusCode).toBe(401);
  });
});
