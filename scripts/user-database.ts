/**
 * The user service's database for the operator commands: the one `npm start` keeps in its data
 * folder (through the running embedded PostgreSQL, or one started here for the moment), or the
 * one USER_DATABASE_URL names. Straight to the database, not through the API: an operator
 * needs these when no admin can sign in (a forgotten password, no admin left) or nothing runs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, runMigrations, type Pool } from '@mini/shared';
import { freePort } from '@mini/shared/testing';
import { UserError } from './cli.js';
import { localDatabaseUrl, startLocalPostgres, type LocalPostgres } from './embedded-postgres.js';
import { dataHolder, DATA_DIR, lockDataDir, POSTGRES_DIR, readCredentials, runningPostgres, shown } from './local-data.js';
import { ROOT } from './stack.js';

export interface UserDatabase {
  pool: Pool;
  /** Where it is, for the messages. */
  where: string;
  /** True when a running npm start serves this data (a change applies to it at once). */
  live: boolean;
  close(): Promise<void>;
}

export async function openUserDatabase(command: string): Promise<UserDatabase> {
  const migrate = (url: string) => runMigrations({ databaseUrl: url, dir: join(ROOT, 'services/user/migrations') });
  const external = process.env.USER_DATABASE_URL;
  if (external) {
    await migrate(external);
    const pool = createPool(external, { max: 2 });
    return { pool, where: 'the database USER_DATABASE_URL names', live: false, close: () => pool.end() };
  }
  const credentials = readCredentials();
  if (!existsSync(join(POSTGRES_DIR, 'PG_VERSION')) || !credentials) {
    throw new UserError(`there is no local data in ${shown(DATA_DIR)} yet: run npm start once first (or set USER_DATABASE_URL)`);
  }
  const running = runningPostgres();
  const holder = dataHolder();
  let server: LocalPostgres | undefined;
  let lock: { release(): void } | undefined;
  let port: number;
  if (running && holder) {
    // npm start (or another command) has the server up: use it, side by side.
    port = running.port;
  } else {
    lock = lockDataDir(command);
    port = await freePort();
    server = await startLocalPostgres({ dataDir: POSTGRES_DIR, port, password: credentials.postgresPassword, log: () => undefined });
    await server.database('user_db');
  }
  const url = localDatabaseUrl({ port, password: credentials.postgresPassword }, 'user_db');
  await migrate(url);
  const pool = createPool(url, { max: 2 });
  return {
    pool,
    where: `npm start's data in ${shown(DATA_DIR)}`,
    live: holder?.command === 'npm start' || holder?.command === 'npm run dev',
    async close() {
      await pool.end();
      await server?.stop();
      lock?.release();
    },
  };
}
