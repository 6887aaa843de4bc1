import { describe, expect, test } from 'vitest';
import type { Pool, PoolClient } from '../db.js';
import { withTransaction } from '../db.js';

// A stand-in client that records what the transaction helper does with it.
function fakePool({ failOn }: { failOn?: string[] } = {}) {
  const queries: string[] = [];
  const releases: unknown[] = [];
  const client = {
    query: async (sql: string) => {
      queries.push(sql);
      if (failOn?.includes(sql)) throw new Error(`${sql} failed`);
      return { rows: [] };
    },
    release: (error?: unknown) => void releases.push(error),
  } as unknown as PoolClient;
  return { pool: { connect: async () => client } as unknown as Pool, queries, releases };
}

describe('withTransaction', () => {
  test('when the work succeeds, then it commits and returns the client to the pool', async () => {
    const { pool, queries, releases } = fakePool();
    expect(await withTransaction(pool, async () => 42)).toBe(42);
    expect(queries).toEqual(['BEGIN', 'COMMIT']);
    expect(releases).toEqual([undefined]);
  });

  test('when the work fails, then it rolls back, returns the client and rethrows', async () => {
    const { pool, queries, releases } = fakePool();
    await expect(withTransaction(pool, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(queries).toEqual(['BEGIN', 'ROLLBACK']);
    expect(releases).toEqual([undefined]);
  });

  test('when even the rollback fails, then the connection is destroyed, not reused', async () => {
    const { pool, releases } = fakePool({ failOn: ['ROLLBACK'] });
    await expect(withTransaction(pool, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(releases).toHaveLength(1);
    expect(releases[0]).toBeInstanceOf(Error);
  });
});
