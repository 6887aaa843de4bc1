import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT } from '../../scripts/stack.js';
import {
  freeStartPorts,
  runToEnd,
  servicePid,
  STACK_FRAME,
  START_COMMAND,
  startAndWait,
  tempDataDir,
  type RunningScript,
} from '../start-helpers.js';

// `npm start` is the first thing a newcomer runs: prove its promises (embedded PostgreSQL,
// demo catalog once, credentials printed, a killed service restarted, Ctrl-C stops quietly,
// data kept across restarts, the README's walk-through) by running the script itself. The
// tests share one data folder and run in order, as a person's first hour does.
const data = await tempDataDir();
let ports: Record<string, string>;
let gateway: string;
let running: RunningScript | undefined;
let adminPassword: string;

beforeAll(async () => {
  ports = await freeStartPorts();
  gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
});

afterAll(async () => {
  await running?.interrupt();
  await data.remove();
});

async function login(username: string, password: string) {
  return fetch(`${gateway}/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

describe('npm start', () => {
  test('first run: the demo catalog is seeded, the admin printed signs in, and the banner counts from the command', async () => {
    const launched = Date.now();
    running = await startAndWait(ports, data.dir);
    const measured = (Date.now() - launched) / 1000;
    const output = running.output();
    expect(output).toContain(`Gateway:   ${gateway}`);
    expect(output).toMatch(/demo catalog seeded with \d+ products/);
    // The banner's time is the whole wait, not the part after the script started.
    const banner = Number(/ready in ([\d.]+)s/.exec(output)?.[1]);
    expect(banner).toBeGreaterThanOrEqual(measured - 0.6);
    expect(banner).toBeLessThanOrEqual(measured + 0.2);
    adminPassword = /Admin:\s+admin \/ (\S+)/.exec(output)?.[1] ?? '';
    expect(adminPassword).toBeTruthy();
    expect((await login('admin', adminPassword)).status).toBe(200);
    const catalog = (await (await fetch(`${gateway}/products`)).json()) as { total: number };
    expect(catalog.total).toBeGreaterThan(0);
  }, 180_000);

  test('a second npm start on the same data says in one line which process holds it, with no stack trace', async () => {
    const clash = runToEnd(START_COMMAND, { ...(await freeStartPorts()), MINI_DATA_DIR: data.dir }, { timeoutMs: 60_000 });
    expect(clash.status).toBe(1);
    expect(clash.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^start: npm start is already running \\(pid ${running!.child.pid}\\) on the data in .*: stop it first`),
      ),
    ]);
    expect(clash.output).not.toMatch(STACK_FRAME);
  }, 90_000);

  test("the README's curl walk-through runs twice in a row as pasted, and prints what its comments say", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### A walk through with curl'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    expect(block).toContain('GW=http://localhost:8080');
    // Pasted in the project folder, where .data is: here a folder whose .data is this test's data.
    const here = await mkdtemp(join(tmpdir(), 'mini-walk-'));
    await symlink(data.dir, join(here, '.data'));
    try {
      const script = `set -eu\n${block.replace('GW=http://localhost:8080', `GW=${gateway}`)}`;
      const expected = [...block.matchAll(/^# -> (.*)$/gm)].map((match) => match[1]!);
      expect(expected.length).toBeGreaterThan(5);
      for (const run of [1, 2]) {
        const result = spawnSync('bash', ['-c', script], {
          cwd: here,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, ADMIN_PASSWORD: '' },
        });
        expect(result.status, `run ${run}:\n${result.stdout}\n${result.stderr}`).toBe(0);
        expect(result.stdout).not.toContain('undefined');
        const lines = result.stdout.trim().split('\n');
        expect(lines).toHaveLength(expected.length);
        expected.forEach((pattern, index) => {
          const regex = new RegExp(
            `^${pattern
              .split('…')
              .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
              .join('.+')}$`,
          );
          expect(lines[index], `run ${run}, "# -> ${pattern}"`).toMatch(regex);
        });
      }
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  }, 150_000);

  test('a killed service is restarted with back-off while the others keep serving, and the log says so', async () => {
    const before = servicePid(running!.child.pid!, 'product');
    const userBefore = servicePid(running!.child.pid!, 'user');
    expect(before).toBeDefined();
    process.kill(before!, 'SIGKILL');
    await running!.waitFor(
      /\[start\] product stopped \(killed by SIGKILL\); restarting it in 250 ms \(restart 1 of 5\), the others keep serving/,
      15_000,
    );
    // The user service never stopped: signing in works throughout.
    expect((await login('admin', adminPassword)).status).toBe(200);
    await running!.waitFor(/\[start\] product is back \(restart 1, ready after [\d.]+s\)/, 60_000);
    const after = servicePid(running!.child.pid!, 'product');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(servicePid(running!.child.pid!, 'user')).toBe(userBefore);
    expect((await fetch(`${gateway}/products?limit=1`)).status).toBe(200);
  }, 90_000);

  test('Ctrl-C stops everything quietly and exits 0', async () => {
    const mark = running!.output().length;
    expect(await running!.interrupt()).toBe(0);
    const tail = running!.output().slice(mark);
    expect(tail).toContain('[start] stopped');
    // Services stop before PostgreSQL: no lost connections to report, nothing force-killed.
    expect(tail).not.toMatch(/WARN|ERROR|Force killing|terminating connection/);
    running = undefined;
    await expect(fetch(`${gateway}/healthz`)).rejects.toThrow();
  }, 60_000);

  test('a restart keeps the data and seeds nothing; with another ADMIN_PASSWORD it says in one line that it does not apply', async () => {
    const catalog = (password: string) => ({ ...ports, ADMIN_PASSWORD: password });
    running = await startAndWait(catalog('brand-new-password-123'), data.dir);
    const output = running.output();
    expect(output).not.toMatch(/demo catalog seeded/);
    const warnings = output.split('\n').filter((line) => line.includes('ADMIN_PASSWORD'));
    expect(warnings).toEqual([
      expect.stringMatching(/ADMIN_PASSWORD is not the password of the existing admin "admin".*npm run user:password -- admin$/),
    ]);
    // The banner does not print a password that would not sign in.
    expect(output).not.toContain('brand-new-password-123');
    expect(output).toContain('Admin:     admin (see the line above)');
    expect((await login('admin', 'brand-new-password-123')).status).toBe(401);
    expect((await login('admin', adminPassword)).status).toBe(200);
    const total = ((await (await fetch(`${gateway}/products`)).json()) as { total: number }).total;
    expect(total).toBeGreaterThan(8); // the demo catalog and the walk-through's lamps
    expect(await running.interrupt()).toBe(0);
    running = undefined;

    running = await startAndWait(ports, data.dir);
    expect(running.output()).toContain(`Admin:     admin / ${adminPassword}`);
    expect(await running.interrupt()).toBe(0);
    running = undefined;
  }, 240_000);
});
