/** The embedded PostgreSQL that `npm start` runs when no external database is configured. */
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
// By path, like the test global setup: this runs before anything is built.
import { importEmbeddedPostgres } from '../packages/shared/src/testing/embedded-postgres.js';

export interface LocalPostgres {
  adminUrl: string;
  /** URL of `name`, created when it does not exist yet. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startLocalPostgres({
  dataDir,
  port,
  password,
}: {
  dataDir: string;
  port: number;
  password: string;
}): Promise<LocalPostgres> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: (message) => process.stderr.write(`[postgres] ${String(message)}`),
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await server.initialise();
  const running = runningServerPid(dataDir);
  if (running) {
    throw new Error(
      `the PostgreSQL in ${dataDir} is already running (pid ${running}): is another npm start still up? Stop it (or that pid) first.`,
    );
  }
  await server.start();
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    async database(name) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
    },
    stop: () => server.stop(),
  };
}

// postmaster.pid names the server using the folder; a stale file (after a crash) names a dead pid.
function runningServerPid(dataDir: string): number | undefined {
  const file = `${dataDir}/postmaster.pid`;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
