// Paging the catalog: keyset cursors and how far a search is counted. Pure rules, unit-tested in
// __tests__/catalog-paging.test.ts.
import type { Parsed } from './rules.js';

/** How many matches of a `q` search are counted exactly; past it, `total` says "at least this many". */
export const SEARCH_COUNT_LIMIT = 1_000;

/** A search's `total`: exact up to SEARCH_COUNT_LIMIT, that limit (flagged as capped) when more matched. */
export function searchTotal(counted: number): { total: number; capped: boolean } {
  return counted > SEARCH_COUNT_LIMIT ? { total: SEARCH_COUNT_LIMIT, capped: true } : { total: counted, capped: false };
}

/**
 * Where a page ends in the catalog's order (created_at, id): the creation time to the
 * microsecond, as PostgreSQL stores it (an ISO instant in UTC, `2026-01-31T12:00:00.123456Z`),
 * and the id that breaks ties.
 */
export interface CatalogPosition {
  createdAt: string;
  id: string;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEPARATOR = '~';
const MESSAGE = 'after must be the nextCursor of an earlier page';

/** The opaque `after` value of the page that follows `position`. */
export function encodeCursor({ createdAt, id }: CatalogPosition): string {
  return Buffer.from(`${createdAt}${SEPARATOR}${id}`).toString('base64url');
}

/**
 * Reads an `after` value back. Anything that is not a cursor this service wrote (another
 * encoding, an impossible date, a malformed id) is refused here rather than by the database.
 */
export function parseCursor(raw: string): Parsed<CatalogPosition> {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return { ok: false, message: MESSAGE };
  const [createdAt = '', id = '', ...rest] = Buffer.from(raw, 'base64url').toString('utf8').split(SEPARATOR);
  if (rest.length > 0 || !INSTANT.test(createdAt) || !UUID.test(id)) return { ok: false, message: MESSAGE };
  // A well-formed but impossible instant (February 30th, or the year 0000 that JavaScript has and
  // PostgreSQL does not) would reach PostgreSQL as an error.
  const millis = Date.parse(`${createdAt.slice(0, 23)}Z`);
  if (Number.isNaN(millis) || createdAt.startsWith('0000') || new Date(millis).toISOString().slice(0, 23) !== createdAt.slice(0, 23)) {
    return { ok: false, message: MESSAGE };
  }
  return { ok: true, value: { createdAt, id } };
}
