import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { createUserDatabase, startUserService, TEST_CONFIG, uniqueName } from './helpers.js';

let pool: Pool;
let app: App;
let client: Awaited<ReturnType<typeof startUserService>>;

beforeAll(async () => {
  ({ pool } = await createUserDatabase());
  client = await startUserService(pool);
  app = client.app;
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
});

const asAdmin = () => client.login(TEST_CONFIG.ADMIN_USERNAME, TEST_CONFIG.ADMIN_PASSWORD);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('POST /users/register', () => {
  test('when the body is valid, then 201 with the user (role user, no hash) and a token', async () => {
    const username = uniqueName('Alice');
    const res = await client.call({ method: 'POST', url: '/users/register', payload: { username, password: 'a-good-password' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), username, role: 'user', createdAt: expect.any(String) });
    expect(new Date(body.user.createdAt).toISOString()).toBe(body.user.createdAt);
    expect(body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  test('when username and password sit on their length limits, then 201', async () => {
    const shortest = randomUUID().slice(0, 3);
    const longest = `${uniqueName('L')}_${'x'.repeat(32)}`.slice(0, 32);
    await client.register(shortest, 'p'.repeat(8));
    await client.register(longest, 'p'.repeat(128));
    await client.register(`${uniqueName('dots')}.and-dash_1`.slice(0, 32));
  });

  test.each([
    ['username too short', { username: 'ab', password: 'a-good-password' }, 'username'],
    ['username too long', { username: 'a'.repeat(33), password: 'a-good-password' }, 'username'],
    ['username with a space', { username: 'bad name', password: 'a-good-password' }, 'username'],
    ['username with a slash', { username: 'bad/name', password: 'a-good-password' }, 'username'],
    ['username with a non-ASCII letter', { username: 'émile', password: 'a-good-password' }, 'username'],
    ['username not a string', { username: 12345, password: 'a-good-password' }, 'username'],
    ['password too short', { username: 'valid_name', password: 'seven77' }, 'password'],
    ['password too long', { username: 'valid_name', password: 'p'.repeat(129) }, 'password'],
    ['username missing', { password: 'a-good-password' }, 'username'],
    ['password missing', { username: 'valid_name' }, 'password'],
    ['an unknown field', { username: 'valid_name', password: 'a-good-password', nickname: 'x' }, 'nickname'],
  ])('when %s, then 400 validation_error naming the field', async (_case, payload, field) => {
    const res = await client.call({ method: 'POST', url: '/users/register', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', details: [expect.objectContaining({ path: field })] });
  });

  test('when the body is empty, then 400', async () => {
    const res = await client.call({ method: 'POST', url: '/users/register', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('when the body carries role admin, then 400 and no account is created at all', async () => {
    const username = uniqueName('sneaky');
    const res = await client.call({
      method: 'POST',
      url: '/users/register',
      payload: { username, password: 'a-good-password', role: 'admin' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', message: 'unknown field "role"' });
    const { rows } = await pool.query('SELECT role FROM users WHERE lower(username) = lower($1)', [username]);
    expect(rows).toEqual([]);
  });

  test('when the username is taken in another case, then 409 conflict', async () => {
    const username = uniqueName('Carol');
    await client.register(username);
    const res = await client.call({
      method: 'POST',
      url: '/users/register',
      payload: { username: username.toUpperCase(), password: 'another-password' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'conflict', message: 'username is already taken' } });
  });

  test('when the same name is registered five times at once in various cases, then one 201 and four 409', async () => {
    const username = uniqueName('race');
    const variants = [username, username.toUpperCase(), username, `R${username.slice(1)}`, username.toUpperCase()];
    const answers = await Promise.all(
      variants.map((name) =>
        client.call({ method: 'POST', url: '/users/register', payload: { username: name, password: 'a-good-password' } }),
      ),
    );
    expect(answers.map((res) => res.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM users WHERE lower(username) = lower($1)', [username]);
    expect(rows[0].n).toBe(1);
  });

  test('stores an argon2id hash with the OWASP parameters, never the password', async () => {
    const { user } = await client.register(uniqueName('hashed'), 'plain-text-password');
    const { rows } = await pool.query('SELECT password_hash FROM users WHERE id = $1', [user.id]);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(rows[0].password_hash).not.toContain('plain-text-password');
  });
});

describe('POST /users/login', () => {
  test('when the credentials are right (username in any case), then 200 with the user as typed at sign-up', async () => {
    const username = uniqueName('Dave');
    const { user } = await client.register(username, 'daves-password');
    const res = await client.call({
      method: 'POST',
      url: '/users/login',
      payload: { username: username.toUpperCase(), password: 'daves-password' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toEqual(user);
    expect(res.json().token).toEqual(expect.any(String));
  });

  test('when the username is unknown or the password wrong, then the same 401 answer', async () => {
    const username = uniqueName('erin');
    await client.register(username, 'erins-password');
    const wrongPassword = await client.call({ method: 'POST', url: '/users/login', payload: { username, password: 'not-erins-password' } });
    const unknownUser = await client.call({
      method: 'POST',
      url: '/users/login',
      payload: { username: uniqueName('nobody'), password: 'erins-password' },
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(unknownUser.statusCode).toBe(401);
    expect(wrongPassword.json()).toEqual({ error: { code: 'unauthorized', message: 'invalid username or password' } });
    expect(unknownUser.body).toBe(wrongPassword.body);
    expect(unknownUser.headers['www-authenticate']).toBe(wrongPassword.headers['www-authenticate']);
  });

  test('when the username is unknown, then answering takes about as long as for a wrong password (a hash is still verified)', async () => {
    const username = uniqueName('frank');
    await client.register(username, 'franks-password');
    const time = async (payload: object) => {
      const started = performance.now();
      const res = await client.call({ method: 'POST', url: '/users/login', payload });
      expect(res.statusCode).toBe(401);
      return performance.now() - started;
    };
    const wrongPassword: number[] = [];
    const unknownUser: number[] = [];
    for (let i = 0; i < 7; i++) {
      wrongPassword.push(await time({ username, password: 'wrong-password' }));
      unknownUser.push(await time({ username: uniqueName('ghost'), password: 'wrong-password' }));
    }
    // Skipping the hash would make the unknown-user answer several times faster.
    expect(median(unknownUser)).toBeGreaterThan(median(wrongPassword) * 0.4);
  });

  test.each([
    ['username missing', { password: 'x-password' }],
    ['password empty', { username: 'someone', password: '' }],
    ['an unknown field', { username: 'someone', password: 'x-password', role: 'admin' }],
  ])('when %s, then 400', async (_case, payload) => {
    const res = await client.call({ method: 'POST', url: '/users/login', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('GET /users/me', () => {
  test('when signed in, then 200 with the own account', async () => {
    const { user, headers } = await client.register();
    const res = await client.call({ method: 'GET', url: '/users/me', headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user });
  });

  test.each([
    ['no Authorization header', {}],
    ['a non-bearer scheme', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ['a malformed token', { authorization: 'Bearer not-a-jwt' }],
  ])('when %s, then 401', async (_case, headers) => {
    const res = await client.call({ method: 'GET', url: '/users/me', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
  });
});

describe('GET /users/:id', () => {
  test('when a user reads their own profile, then 200', async () => {
    const { user, headers } = await client.register();
    const res = await client.call({ method: 'GET', url: `/users/${user.id}`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user });
  });

  test("when a user reads another's profile, or an id that does not exist, then 403 either way", async () => {
    const me = await client.register();
    const other = await client.register();
    for (const id of [other.user.id, randomUUID()]) {
      const res = await client.call({ method: 'GET', url: `/users/${id}`, headers: me.headers });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
    }
  });

  test('when an admin reads any profile, then 200; an unknown id, then 404', async () => {
    const admin = await asAdmin();
    const other = await client.register();
    const found = await client.call({ method: 'GET', url: `/users/${other.user.id}`, headers: admin.headers });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual({ user: other.user });
    const missing = await client.call({ method: 'GET', url: `/users/${randomUUID()}`, headers: admin.headers });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });

  test('when the id is not a UUID, then 400', async () => {
    const admin = await asAdmin();
    const res = await client.call({ method: 'GET', url: '/users/not-a-uuid', headers: admin.headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('when no token is sent, then 401', async () => {
    const res = await client.call({ method: 'GET', url: `/users/${randomUUID()}` });
    expect(res.statusCode).toBe(401);
  });
});

describe('GET /users', () => {
  test('when the caller is not an admin, then 403; without a token, then 401', async () => {
    const { headers } = await client.register();
    const forbidden = await client.call({ method: 'GET', url: '/users', headers });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('forbidden');
    expect((await client.call({ method: 'GET', url: '/users' })).statusCode).toBe(401);
  });

  test('when an admin lists, then pages in creation order with total, limit and offset', async () => {
    const admin = await asAdmin();
    const mine: Array<{ id: string }> = [];
    for (let i = 0; i < 3; i++) mine.push((await client.register(uniqueName(`list${i}`))).user);

    const all: Array<{ id: string }> = [];
    let total = 0;
    for (let offset = 0; ; offset += 100) {
      const res = await client.call({ method: 'GET', url: `/users?limit=100&offset=${offset}`, headers: admin.headers });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page).toMatchObject({ limit: 100, offset });
      total = page.total;
      all.push(...page.users);
      if (page.users.length < 100) break;
    }
    expect(all).toHaveLength(total);
    const positions = mine.map((user) => all.findIndex((listed) => listed.id === user.id));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(all.find((user) => user.id === mine[0]!.id)).toEqual(mine[0]);

    const first = (await client.call({ method: 'GET', url: '/users?limit=2', headers: admin.headers })).json();
    const second = (await client.call({ method: 'GET', url: '/users?limit=2&offset=2', headers: admin.headers })).json();
    expect(first).toMatchObject({ limit: 2, offset: 0, total });
    expect(second).toMatchObject({ limit: 2, offset: 2, total });
    expect([...first.users, ...second.users]).toEqual(all.slice(0, 4));
  });

  test('when no paging is given, then limit 20 and offset 0: a full page of 20 when more users exist', async () => {
    const admin = await asAdmin();
    for (let i = 0; i < 21; i++) await client.register(uniqueName(`page${i}`));
    const res = await client.call({ method: 'GET', url: '/users', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ limit: 20, offset: 0 });
    expect(res.json().total).toBeGreaterThan(20);
    expect(res.json().users).toHaveLength(20);
  });

  test.each(['limit=0', 'limit=101', 'limit=ten', 'offset=-1', 'sort=username'])('when the query has %s, then 400', async (query) => {
    const admin = await asAdmin();
    const res = await client.call({ method: 'GET', url: `/users?${query}`, headers: admin.headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});
