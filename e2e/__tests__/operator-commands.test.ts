import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPool } from '@mini/shared';
import {
  freeStartPorts,
  GENEROUS_RATE_LIMITS,
  npmRun,
  runToEnd,
  STACK_FRAME,
  startAndWait,
  tempDataDir,
  type RunningScript,
} from '../start-helpers.js';

// The operator commands, run as npm scripts against npm start's data: while it runs (the change
// applies at once) and while it does not (the command starts the embedded PostgreSQL itself).
const data = await tempDataDir('mini-ops-');
let ports: Record<string, string>;
let gateway: string;
let running: RunningScript | undefined;
let adminPassword = '';

beforeAll(async () => {
  ports = await freeStartPorts();
  gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
});

afterAll(async () => {
  await running?.interrupt();
  await data.remove();
});

// The key-encryption key comes from the data folder (CLEAN_ENV empties the shell's).
const env = (extra: Record<string, string> = {}) => ({ MINI_DATA_DIR: data.dir, ...extra });
const run = (script: string, args: string[] = [], input?: string, extra?: Record<string, string>) =>
  runToEnd(npmRun(script, ...args), env(extra), { input });
// The key-rotation test signs in every 500 ms for up to a minute: over the default login limit.
const startHere = () => startAndWait({ ...ports, ...GENEROUS_RATE_LIMITS }, data.dir);
// `run` blocks this process (spawnSync) for seconds, while the gateway closes idle connections
// after 5 s: a kept-alive one could be reused just as it closes. One connection per call.
const noKeepAlive = new Agent({ pipelining: 0 });

/** The signing key rows in npm start's user_db (through its running PostgreSQL). */
async function storedSigningKeys() {
  const credentials = JSON.parse(readFileSync(join(data.dir, 'local-credentials.json'), 'utf8')) as { postgresPassword: string };
  const pool = createPool(`postgres://postgres:${credentials.postgresPassword}@127.0.0.1:${ports.EMBEDDED_POSTGRES_PORT}/user_db`, {
    max: 1,
  });
  try {
    const { rows } = await pool.query<{ kid: string; private_jwk: unknown; private_jwk_encrypted: string | null }>(
      'SELECT kid, private_jwk, private_jwk_encrypted FROM signing_keys ORDER BY generation',
    );
    return rows;
  } finally {
    await pool.end();
  }
}

function expectOneLine(result: ReturnType<typeof run>, pattern: RegExp) {
  expect(result.status, result.output).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  expect(result.output).not.toMatch(STACK_FRAME);
}

async function call(method: string, path: string, { token, body }: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${gateway}${path}`, {
    dispatcher: noKeepAlive,
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const login = (username: string, password: string) => call('POST', '/users/login', { body: { username, password } });

describe('operator commands', () => {
  test.each(['data:reset', 'user:admin', 'user:password', 'keys:rotate', 'k8s:apply'])(
    'npm run %s -- --help prints its usage',
    (script) => {
      const result = run(script, ['--help']);
      expect(result.status, result.output).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: npm run ${script}`));
    },
  );

  test('before npm start ever ran, a command says to run it first', () => {
    expectOneLine(
      run('user:admin', ['alice'], 'a-good-password\n'),
      /^user:admin: there is no local data in .* yet: run npm start once first/,
    );
  });

  test('while npm start runs: promote a user, set a password, create an admin; each applies at once', async () => {
    // Credentials as an earlier version wrote them: the first start adds a key-encryption key and keeps the rest.
    const credentialsFile = join(data.dir, 'local-credentials.json');
    const earlier = { postgresPassword: randomBytes(12).toString('hex'), adminPassword: randomBytes(12).toString('hex') };
    mkdirSync(data.dir, { recursive: true });
    chmodSync(data.dir, 0o755);
    writeFileSync(credentialsFile, JSON.stringify(earlier), { mode: 0o600 });
    running = await startHere();
    adminPassword = /Admin:\s+admin \/ (\S+)/.exec(running.output())![1]!;
    expect(adminPassword).toBe(earlier.adminPassword);
    expect(JSON.parse(readFileSync(credentialsFile, 'utf8'))).toEqual({
      ...earlier,
      signingKeyEncryptionKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
    const bob = await call('POST', '/users/register', { body: { username: 'bob', password: 'bobs-first-password' } });
    expect(bob.status).toBe(201);

    const promoted = run('user:admin', ['bob']);
    expect(promoted.status, promoted.output).toBe(0);
    expect(promoted.stdout).toMatch(/^bob is now an admin/);
    const asBob = await login('bob', 'bobs-first-password');
    expect(asBob.body.user.role).toBe('admin');
    expect((await call('GET', '/users', { token: asBob.body.token })).status).toBe(200);
    expect(run('user:admin', ['BOB']).stdout).toMatch(/^bob is already an admin/);

    const changed = run('user:password', ['bob'], 'bobs-second-password\n');
    expect(changed.status, changed.output).toBe(0);
    expect(changed.stdout).toMatch(/^Changed the password of bob/);
    expect((await login('bob', 'bobs-first-password')).status).toBe(401);
    expect((await login('bob', 'bobs-second-password')).status).toBe(200);

    const created = run('user:admin', ['carol'], 'carols-password-1\n');
    expect(created.status, created.output).toBe(0);
    expect(created.stdout).toMatch(/^Created the admin carol/);
    expect((await login('carol', 'carols-password-1')).body.user.role).toBe('admin');
  }, 180_000);

  test('mistakes are one line each: an unknown user, a short password, no user named, a reset while npm start runs', () => {
    expectOneLine(run('user:password', ['nobody'], 'a-good-password\n'), /^user:password: no user is named "nobody"/);
    expectOneLine(run('user:password', ['bob'], 'short\n'), /^user:password: that password must be .*; nothing was changed$/);
    expectOneLine(run('user:password', []), /^user:password: name exactly one user/);
    expectOneLine(run('user:admin', ['no spaces allowed'], 'a-good-password\n'), /cannot name a new one/);
    expectOneLine(run('data:reset', ['--yes']), /^data:reset: npm start is already running \(pid \d+\)/);
    expectOneLine(run('keys:rotate', ['now']), /takes no arguments/);
    expectOneLine(
      run('keys:rotate', [], undefined, { SIGNING_KEY_ENCRYPTION_KEY: 'not-a-key' }),
      /^keys:rotate: SIGNING_KEY_ENCRYPTION_KEY must be 32 random bytes in base64/,
    );
    // Another key-encryption key: refused before anything is written (the rotation below is still generation 2).
    expectOneLine(
      run('keys:rotate', [], undefined, { SIGNING_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
      /^keys:rotate: SIGNING_KEY_ENCRYPTION_KEY is not the key the signing keys in the database were encrypted with .*nothing was changed \(the key came from SIGNING_KEY_ENCRYPTION_KEY\)$/,
    );
  }, 120_000);

  test('keys:rotate while npm start runs: the new key is published at once and signs within 45 s; tokens signed before keep working everywhere', async () => {
    const before = (await login('admin', adminPassword)).body.token as string;
    const oldKid = decodeProtectedHeader(before).kid;
    const rotated = run('keys:rotate');
    expect(rotated.status, rotated.output).toBe(0);
    expect(rotated.stdout).toMatch(/^Stored signing key generation 2 \(kid \S+\).*publishes it now and signs with it within 45 s/);
    expect(rotated.stdout).toMatch(/encrypted with the key from .*local-credentials\.json/);
    const newKid = /kid (\S+)\)/.exec(rotated.stdout)![1];
    // Both keys, the one npm start created and the rotated one, are stored encrypted only.
    expect(await storedSigningKeys()).toEqual([
      { kid: oldKid, private_jwk: null, private_jwk_encrypted: expect.stringMatching(/^v1\./) },
      { kid: newKid, private_jwk: null, private_jwk_encrypted: expect.stringMatching(/^v1\./) },
    ]);

    // Published first (within the 5 s reload), signing only once every service can have fetched it.
    const jwksKids = async () => {
      const set = (await (await fetch(`http://127.0.0.1:${ports.USER_SERVICE_PORT}/.well-known/jwks.json`, { dispatcher: noKeepAlive })).json()) as {
        keys: { kid: string }[];
      };
      return set.keys.map((key) => key.kid);
    };
    for (let waited = 0; waited < 10_000 && (await jwksKids()).length < 2; waited += 500) await new Promise((r) => setTimeout(r, 500));
    expect(await jwksKids()).toEqual([newKid, oldKid]);
    expect(decodeProtectedHeader((await login('admin', adminPassword)).body.token).kid).toBe(oldKid);

    let after = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      after = (await login('admin', adminPassword)).body.token;
      if (decodeProtectedHeader(after).kid === newKid) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect(await jwksKids()).toEqual([newKid, oldKid]);
    // Each service verifies locally: the order service fetches the new key when it first sees it.
    for (const token of [before, after]) {
      expect((await call('GET', '/users/me', { token })).status).toBe(200);
      expect((await call('GET', '/orders', { token })).status).toBe(200);
      expect((await call('POST', '/products', { token, body: { name: 'Key test', description: 'x', price: 1 } })).status).toBe(201);
    }
  }, 120_000);

  test('while npm start is stopped: a password is set (the command starts PostgreSQL itself), and the next start says the generated one no longer applies', async () => {
    expect(await running!.interrupt()).toBe(0);
    running = undefined;
    const changed = run('user:password', ['admin'], 'the-admins-new-password\n');
    expect(changed.status, changed.output).toBe(0);
    expect(changed.stdout).toMatch(/^Changed the password of admin/);

    running = await startHere();
    expect(running.output()).toMatch(
      /the admin "admin" no longer has the password generated in .*: set one with npm run user:password -- admin/,
    );
    expect(running.output()).not.toContain(adminPassword);
    expect((await login('admin', 'the-admins-new-password')).status).toBe(200);
    expect(await running.interrupt()).toBe(0);
    running = undefined;
  }, 180_000);

  test('data:reset asks first (refusing without a terminal), and with --yes deletes the data', () => {
    expectOneLine(run('data:reset'), /^data:reset: not asking on a non-interactive input: add --yes/);
    expect(existsSync(data.dir)).toBe(true);
    const reset = run('data:reset', ['--yes']);
    expect(reset.status, reset.output).toBe(0);
    expect(reset.stdout).toMatch(/^Deleted .*The next npm start begins afresh/);
    expect(existsSync(data.dir)).toBe(false);
    expect(run('data:reset', ['--yes']).stdout).toMatch(/^Nothing to reset/);
  }, 60_000);
});
