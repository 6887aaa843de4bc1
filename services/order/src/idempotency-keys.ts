import { createHash } from 'node:crypto';
import type { Db } from './repository.js';

// Idempotency-Key on POST /orders (SQL and the request fingerprint; the flow is in service.ts).

/** How long a key's first answer is kept and replayed. */
export const KEY_LIFETIME_HOURS = 24;

export interface StoredAnswer {
  requestHash: string;
  /** Null while the first request with this key is still being placed. */
  statusCode: number | null;
  response: string | null;
  orderId: string | null;
}

/** A fingerprint of the request: the same body in any key order gives the same hash. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(stableJson(body)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const LIVE = `created_at > now() - interval '${KEY_LIFETIME_HOURS} hours'`;

/** The live answer stored under the key, if any. */
export async function findAnswer(db: Db, userId: string, key: string): Promise<StoredAnswer | undefined> {
  const { rows } = await db.query<StoredAnswer>(
    `SELECT request_hash AS "requestHash", status_code AS "statusCode", response, order_id AS "orderId"
     FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND ${LIVE}`,
    [userId, key],
  );
  return rows[0];
}

/**
 * Claims the key for this request inside the caller's transaction; false when another request
 * holds it. A concurrent claim of the same key waits here until the first one commits or rolls
 * back, so it then finds the first answer. An expired key is claimed afresh.
 */
export async function claimKey(db: Db, userId: string, key: string, hash: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status_code = NULL, response = NULL, order_id = NULL, created_at = now()
       WHERE idempotency_keys.created_at <= now() - interval '${KEY_LIFETIME_HOURS} hours'`,
    [userId, key, hash],
  );
  return (rowCount ?? 0) > 0;
}

/** Stores the answer the claimed key replays from now on. */
export async function storeAnswer(db: Db, userId: string, key: string, answer: { statusCode: number; response: string; orderId: string }) {
  await db.query('UPDATE idempotency_keys SET status_code = $3, response = $4, order_id = $5 WHERE user_id = $1 AND key = $2', [
    userId,
    key,
    answer.statusCode,
    answer.response,
    answer.orderId,
  ]);
}

/** Deletes keys past their lifetime; returns how many. */
export async function pruneKeys(db: Db): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE NOT (${LIVE})`);
  return rowCount ?? 0;
}

/** Prunes expired keys every `everyMs` (default hourly), as a resource closed on shutdown. */
export function pruneKeysPeriodically(db: Db, everyMs = 3_600_000): { close(): Promise<void> } {
  const timer = setInterval(() => void pruneKeys(db).catch(() => undefined), everyMs);
  timer.unref();
  return { close: async () => clearInterval(timer) };
}
