import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { findPostgresAccessProblem, importEmbeddedPostgres } from './embedded-postgres.js';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a throwaway embedded PostgreSQL for a test run (or uses
 * `TEST_DATABASE_URL` when set) and returns its admin URL and a stop function.
 */
export async function startTestPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, stop: async () => undefined };
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const databaseDir = await mkdtemp(join(tmpdir(), 'mini-test-pg-'));
  // As root, the server runs as `postgres`: a folder it cannot enter would fail deep inside the
  // library with an uncatchable EACCES. Say what is wrong and what to do instead.
  const blocked = await findPostgresAccessProblem(databaseDir);
  if (blocked) {
    await rm(databaseDir, { recursive: true, force: true });
    throw new Error(
      `the embedded PostgreSQL runs as the postgres user, who cannot enter ${blocked.dir} (mode ${blocked.mode}) on the way to its ${blocked.towards}: ` +
        'run the tests as a normal user, from a folder others can read, or point TEST_DATABASE_URL at a PostgreSQL server',
    );
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}

/** Creates an empty database with a unique name on the server at `adminUrl`; returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'test'): Promise<string> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
