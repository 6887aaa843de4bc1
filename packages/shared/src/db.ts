import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from './logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// BIGINT (COUNT(*), money in cents) comes back as a JS number for the whole process: exact up to
// 2^53, far beyond any total this system stores. NUMERIC stays a string.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** A connection pool for one service's own database. */
export function createPool(
  connectionString: string,
  {
    max = 10,
    applicationName,
    logger,
    statementTimeoutMs = 5_000,
  }: {
    max?: number;
    applicationName?: string;
    logger?: Logger;
    /** The longest a statement may run (0: no limit, for bulk work such as seeding a test table). */
    statementTimeoutMs?: number;
  } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    idleTimeoutMillis: 30_000,
    // A database that is down or stalled must fail a request fast (503), never hang it: a
    // connection must be had within 2 s, and no statement may run longer than 5 s.
    connectionTimeoutMillis: 2_000,
    statement_timeout: statementTimeoutMs,
    ...(statementTimeoutMs > 0 ? { query_timeout: statementTimeoutMs + 1_000 } : {}),
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  // (Logged without the error object: pg attaches the whole client to it.)
  pool.on('error', (error: Error & { code?: string }) =>
    logger?.warn({ code: error.code, reason: error.message }, 'idle database connection failed'),
  );
  return pool;
}

/**
 * Applies this service's pending migrations (SQL files in `dir`) in one
 * transaction. Replicas starting together wait on an advisory lock.
 */
export async function runMigrations({
  databaseUrl,
  dir,
  logger,
}: {
  databaseUrl: string;
  /** One folder, or several whose files run together in name order. */
  dir: string | string[];
  logger?: Logger;
}): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    // As globs, so several folders' files run as one list in name order.
    dir: (Array.isArray(dir) ? dir : [dir]).map((folder) => `${folder}/*.sql`),
    useGlob: true,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: (message: string) => logger?.debug(message),
  });
  const names = applied.map((migration) => migration.name);
  if (names.length > 0) logger?.info({ migrations: names }, 'migrations applied');
  return names;
}

/** Runs `work` in a transaction on one client, rolling back on any error. */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    await client.query('BEGIN');
    result = await work(client);
    await client.query('COMMIT');
  } catch (error) {
    // A connection that cannot even roll back is broken: destroy it rather than return it to the pool.
    const rollbackError = await client.query('ROLLBACK').then(
      () => undefined,
      (failure: unknown) => (failure instanceof Error ? failure : new Error(String(failure))),
    );
    client.release(rollbackError);
    throw error;
  }
  client.release();
  return result;
}

/** True when `error` is PostgreSQL's unique_violation (optionally on `constraint`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

// Connection refused or reset, the pool's acquire timeout, the server shutting down or out of
// connections, a statement cancelled by its time limit: the database as a dependency failing.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
]);
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection is closed/i;

/** True when `error` says the database could not be reached or did not answer in time (a 503, not a 500). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}
