import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
// By path, as scripts/ does: the bench runs from the sources.
import { importEmbeddedPostgres } from '../../packages/shared/src/testing/embedded-postgres.js';
import { freePort } from '../../packages/shared/src/testing/postgres.js';

export interface BenchPostgres {
  /** What it is, for the results: `embedded PostgreSQL 18` or the external server's version. */
  description: string;
  /** A fresh, empty database called `name` (dropped first if a previous run left one). */
  database(name: string): Promise<string>;
  /** The postmaster's pid when it runs on this machine (its CPU is then measured). */
  postmasterPid: number | undefined;
  stop(): Promise<void>;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * The PostgreSQL server of one bench run: `BENCH_DATABASE_URL` (an admin URL of a server to
 * create bench_* databases in) when set, else a throwaway embedded server in a temporary folder,
 * with default settings (durable commits) but room for every pool of both stacks.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const external = process.env.BENCH_DATABASE_URL;
  if (external) {
    const version = await withClient(
      external,
      async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v,
    );
    return {
      description: `PostgreSQL ${version} at BENCH_DATABASE_URL`,
      database: (name) => recreate(external, `bench_${name}`),
      postmasterPid: undefined,
      stop: async () => undefined,
    };
  }
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const databaseDir = await mkdtemp(join(tmpdir(), 'mini-bench-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'bench',
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
    postgresFlags: ['-c', 'max_connections=300'],
  });
  await server.initialise();
  await server.start();
  const stop = async () => {
    await server.stop();
    await rm(databaseDir, { recursive: true, force: true });
  };
  const adminUrl = `postgres://postgres:bench@127.0.0.1:${port}/postgres`;
  const version = await withClient(
    adminUrl,
    async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v,
  ).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const pidFile = join(databaseDir, 'postmaster.pid');
  return {
    description: `embedded PostgreSQL ${version} (default settings, max_connections 300)`,
    database: (name) => recreate(adminUrl, name),
    postmasterPid: existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined,
    stop,
  };
}

async function recreate(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
