import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { chmodSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freeStartPorts, runToEnd, START_COMMAND, STACK_FRAME, tempDataDir } from '../start-helpers.js';

// The mistakes a newcomer makes with npm start: each is found before anything starts and told
// in one line that names the variable to change. None needs a running stack, so each is quick.
const data = await tempDataDir('mini-mistakes-');
afterAll(() => data.remove());

async function start(env: Record<string, string>) {
  const result = runToEnd(START_COMMAND, { ...(await freeStartPorts()), MINI_DATA_DIR: data.dir, ...env }, { timeoutMs: 60_000 });
  const lines = result.stderr.trim().split('\n');
  return { ...result, lines };
}

function expectOneLine(result: Awaited<ReturnType<typeof start>>, pattern: RegExp) {
  expect(result.status, result.output).toBe(1);
  expect(result.lines).toHaveLength(1);
  expect(result.lines[0]).toMatch(pattern);
  expect(result.output).not.toMatch(STACK_FRAME);
  // Nothing started: no service printed anything, no banner.
  expect(result.stdout).not.toMatch(/\[(user|product|order|gateway)\s*\]|Stop with Ctrl-C/);
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('npm start refuses a mistake in one line, before anything starts', () => {
  test('when the gateway port is taken, then it names GATEWAY_PORT and a free port to use instead', async () => {
    const ports = await freeStartPorts();
    const squatter = await listen(Number(ports.GATEWAY_PORT));
    try {
      const result = await start(ports);
      expectOneLine(
        result,
        new RegExp(`^start: port ${ports.GATEWAY_PORT} \\(GATEWAY_PORT\\) is already in use.*GATEWAY_PORT=\\d+ npm start$`),
      );
    } finally {
      squatter.close();
    }
  });

  test('when the embedded PostgreSQL port is taken, then it names EMBEDDED_POSTGRES_PORT', async () => {
    const ports = await freeStartPorts();
    const squatter = await listen(Number(ports.EMBEDDED_POSTGRES_PORT));
    try {
      expectOneLine(await start(ports), /EMBEDDED_POSTGRES_PORT\) is already in use/);
    } finally {
      squatter.close();
    }
  });

  test('when two services are given one port, then it names both variables', async () => {
    const ports = await freeStartPorts();
    expectOneLine(
      await start({ ...ports, ORDER_SERVICE_PORT: ports.USER_SERVICE_PORT! }),
      /USER_SERVICE_PORT and ORDER_SERVICE_PORT are both \d+/,
    );
  });

  test('when a port is not a number, then it says which', async () => {
    expectOneLine(await start({ GATEWAY_PORT: 'eighty' }), /GATEWAY_PORT must be a port number.*"eighty"/);
  });

  test('when NODE_ENV is not one the services know, then it says which ones they do', async () => {
    expectOneLine(await start({ NODE_ENV: 'prod' }), /NODE_ENV must be development, test or production, got "prod"/);
  });

  test('when NODE_ENV=production, then production rules apply: a development default is refused', async () => {
    expectOneLine(
      await start({ NODE_ENV: 'production', ADMIN_PASSWORD: 'dev-only-admin-password' }),
      /ADMIN_PASSWORD is the development default, which production refuses/,
    );
  });

  test('when a setting every service reads is invalid, then it is named once', async () => {
    const result = await start({ LOG_LEVEL: 'verbose' });
    expectOneLine(result, /^start: invalid settings: LOG_LEVEL is invalid: .*"verbose"/);
    expect(result.lines[0]!.match(/LOG_LEVEL/g)).toHaveLength(1);
  });

  test('when a setting only one service reads is invalid, then it names that service', async () => {
    expectOneLine(await start({ TOKEN_TTL_SECONDS: '-5' }), /TOKEN_TTL_SECONDS is invalid: .*\(user service\)/);
  });

  test('when ADMIN_PASSWORD is too short for the user service, then it says so', async () => {
    expectOneLine(await start({ ADMIN_PASSWORD: 'short' }), /^start: ADMIN_PASSWORD must be/);
  });

  test.runIf(process.getuid?.() === 0)(
    'as root, when the data folder sits in a folder only root may enter, then it says to set MINI_DATA_DIR',
    async () => {
      const locked = await mkdtemp(join(tmpdir(), 'mini-root-only-'));
      chmodSync(locked, 0o700);
      try {
        const dataDir = join(locked, 'data');
        const result = runToEnd(START_COMMAND, { ...(await freeStartPorts()), MINI_DATA_DIR: dataDir }, { timeoutMs: 60_000 });
        expect(result.status, result.output).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(new RegExp(`cannot enter ${locked} \\(mode 0700\\).*set MINI_DATA_DIR`)),
        ]);
        expect(result.output).not.toMatch(/EACCES/);
        expect(result.output).not.toMatch(STACK_FRAME);
        expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(false);
      } finally {
        await rm(locked, { recursive: true, force: true });
      }
    },
  );

  test('the folder check itself: a data folder under an unreachable folder is found, one under /tmp is not', async () => {
    const { findPostgresAccessProblem } = await import('../../packages/shared/src/testing/embedded-postgres.js');
    const locked = await mkdtemp(join(tmpdir(), 'mini-root-only-'));
    await mkdir(join(locked, 'inner'));
    chmodSync(locked, 0o700);
    try {
      const problem = await findPostgresAccessProblem(join(locked, 'inner', 'data'));
      if (process.getuid?.() === 0) expect(problem).toEqual({ dir: locked, mode: '0700', towards: 'data' });
      else expect(problem).toBeNull(); // only root hands the server to another user
      expect(await findPostgresAccessProblem(join(data.dir, 'postgres'))).toBeNull();
    } finally {
      await rm(locked, { recursive: true, force: true });
    }
  });
});
