import type { Pool, PoolClient } from '@mini/shared';
import { SEARCH_COUNT_LIMIT, searchTotal, type CatalogPosition } from './catalog-paging.js';
import { containsPattern } from './rules.js';

/** Anything that runs a query: the pool, or one client inside a transaction (stock reservations will need one). */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/** A product as stored: money in integer cents. */
export interface ProductRecord {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  stock: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewProduct {
  name: string;
  description: string;
  priceCents: number;
  stock: number;
}

/** A stock edit that cannot lose a concurrent reservation: relative, or conditional on the value read. */
export type StockChange = { delta: number } | { set: number; expected: number };

/** The largest stock a product can hold (a PostgreSQL integer). */
export const MAX_STOCK = 2_147_483_647;

/** Fields an admin edit changes; absent ones keep their value. */
export type ProductChanges = Partial<Omit<NewProduct, 'stock'>> & { stock?: StockChange | undefined };

export interface ProductFilter {
  /** Names containing this text, case-insensitively and literally. */
  q?: string | undefined;
  /** Only these ids. */
  ids?: string[] | undefined;
}

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  stock: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, description, price_cents, stock, created_at, updated_at';

function toRecord(row: ProductRow): ProductRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    priceCents: row.price_cents,
    stock: row.stock,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface PageRequest {
  limit: number;
  offset: number;
  /** Keyset pagination: only products after this one in the catalog's order. */
  after?: CatalogPosition | undefined;
}

export interface ProductPage {
  products: ProductRecord[];
  /** How many products match the filter (not only those after the cursor). */
  total: number;
  /** True when a search matched more than SEARCH_COUNT_LIMIT products: then `total` is that limit. */
  capped: boolean;
  /** Where the next page starts; undefined on the last page. */
  next?: CatalogPosition | undefined;
}

// A page's rows come with their times as text, never as Dates: the creation time to the
// microsecond (a JS Date keeps milliseconds only) is the keyset cursor, and cut to milliseconds it
// is exactly what Date#toISOString gives (both truncate), without parsing and printing two Dates
// per row on the hottest read.
const LIST_COLUMNS = `id, name, description, price_cents, stock,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;

interface ListRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  stock: number;
  position: string;
  updated_at: string;
  total: number;
}

function listRecord(row: ListRow): ProductRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    priceCents: row.price_cents,
    stock: row.stock,
    createdAt: `${row.position.slice(0, 23)}Z`,
    updatedAt: row.updated_at,
  };
}

function filterConditions({ q, ids }: ProductFilter, params: unknown[]): string[] {
  const conditions: string[] = [];
  if (q !== undefined) {
    params.push(containsPattern(q));
    conditions.push(`name ILIKE $${params.length}`);
  }
  if (ids !== undefined) {
    params.push(ids);
    conditions.push(`id = ANY($${params.length}::uuid[])`);
  }
  return conditions;
}

const whereOf = (conditions: string[]) => (conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '');

/**
 * What `total` costs, never O(catalog): the whole catalog's count is kept by triggers
 * (product_count); an id lookup counts at most 100 rows by primary key; a search counts its
 * matches up to SEARCH_COUNT_LIMIT + 1 and stops.
 */
function totalQuery(filter: ProductFilter, where: string): string {
  if (filter.q === undefined && filter.ids === undefined) return 'SELECT n AS total FROM product_count';
  if (filter.ids !== undefined) return `SELECT count(*) AS total FROM products ${where}`;
  return `SELECT count(*) AS total FROM (SELECT 1 FROM products ${where} LIMIT ${SEARCH_COUNT_LIMIT + 1}) AS matches`;
}

/**
 * One page of products in their stable order (created_at, id), from an offset or after a cursor,
 * and how many match in all. One round trip: the total rides along on each row (computed once);
 * only an empty page needs a second query for it. The page walks products_created_at_id_idx and
 * stops after `limit` + 1 rows (the extra one says whether a next page exists), whatever the
 * catalog's size; a search may instead collect its matches from the trigram index.
 */
export async function listProducts(db: Queryable, filter: ProductFilter, { limit, offset, after }: PageRequest): Promise<ProductPage> {
  const params: unknown[] = [];
  const conditions = filterConditions(filter, params);
  const where = whereOf(conditions);
  const total = totalQuery(filter, where);
  const pageConditions = [...conditions];
  if (after) {
    params.push(after.createdAt, after.id);
    pageConditions.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1, offset);
  const text = `SELECT ${LIST_COLUMNS}, (${total}) AS total FROM products ${whereOf(pageConditions)}
     ORDER BY created_at, id LIMIT $${params.length - 1} OFFSET $${params.length}`;
  // A prepared statement saves PostgreSQL parsing every page. Not for a search: its best plan
  // depends on the pattern (rare or common), which a generic plan could not see.
  const { rows } = await db.query<ListRow>(
    filter.q === undefined ? { name: statementName(text), text, values: params } : { text, values: params },
  );
  const totalOf = (count: number) =>
    filter.q !== undefined && filter.ids === undefined ? searchTotal(count) : { total: count, capped: false };
  const first = rows[0];
  if (!first) {
    if (offset === 0 && !after) return { products: [], total: 0, capped: false };
    const counted = await db.query<{ total: number }>(total, params.slice(0, conditions.length));
    return { products: [], ...totalOf(counted.rows[0]?.total ?? 0) };
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1]!;
  return {
    products: page.map(listRecord),
    ...totalOf(first.total),
    next: rows.length > limit ? { createdAt: last.position, id: last.id } : undefined,
  };
}

// One name per distinct statement text: a connection prepares each once.
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `products_list_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

export async function findProductById(db: Queryable, id: string): Promise<ProductRecord | undefined> {
  const { rows } = await db.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id]);
  return rows[0] && toRecord(rows[0]);
}

export async function insertProduct(db: Queryable, product: NewProduct): Promise<ProductRecord> {
  const { rows } = await db.query<ProductRow>(
    `INSERT INTO products (name, description, price_cents, stock) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [product.name, product.description, product.priceCents, product.stock],
  );
  return toRecord(rows[0]!);
}

/**
 * Applies an admin edit in one statement and bumps updated_at; undefined when the product does
 * not exist or the stock condition fails (a delta below 0, a stock that is no longer the one
 * expected). The stock edit is relative or conditional, so it never loses a reservation.
 */
export async function updateProduct(db: Queryable, id: string, changes: ProductChanges): Promise<ProductRecord | undefined> {
  const columns = { name: 'name', description: 'description', priceCents: 'price_cents' } as const;
  const params: unknown[] = [id];
  const assignments: string[] = [];
  const conditions = ['id = $1'];
  for (const key of Object.keys(columns) as (keyof typeof columns)[]) {
    if (changes[key] === undefined) continue;
    params.push(changes[key]);
    assignments.push(`${columns[key]} = $${params.length}`);
  }
  const { stock } = changes;
  if (stock && 'delta' in stock) {
    params.push(stock.delta);
    assignments.push(`stock = stock + $${params.length}`);
    // In bigint: an integer sum past 2^31 - 1 would be an error, not a false condition.
    conditions.push(`stock::bigint + $${params.length} BETWEEN 0 AND ${MAX_STOCK}`);
  } else if (stock) {
    params.push(stock.set, stock.expected);
    assignments.push(`stock = $${params.length - 1}`);
    conditions.push(`stock = $${params.length}`);
  }
  // clock_timestamp(), not now(): the edit time, even inside a longer transaction.
  assignments.push('updated_at = clock_timestamp()');
  const { rows } = await db.query<ProductRow>(
    `UPDATE products SET ${assignments.join(', ')} WHERE ${conditions.join(' AND ')} RETURNING ${COLUMNS}`,
    params,
  );
  return rows[0] && toRecord(rows[0]);
}

/** True when a product was deleted. */
export async function deleteProduct(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM products WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

// ---- stock reservations ------------------------------------------------------------------------

export type ReservationStatus = 'reserved' | 'rejected' | 'released' | 'cancelled';

export interface ReservationRecord {
  orderId: string;
  status: ReservationStatus;
  lines: { productId: string; quantity: number }[];
}

/** The reservation of an order, locked for the rest of the transaction; undefined when none. */
export async function findReservationForUpdate(db: Queryable, orderId: string): Promise<ReservationRecord | undefined> {
  const { rows } = await db.query<ReservationRecord>(
    'SELECT order_id AS "orderId", status, lines FROM stock_reservations WHERE order_id = $1 FOR UPDATE',
    [orderId],
  );
  return rows[0];
}

export async function insertReservation(db: Queryable, reservation: ReservationRecord): Promise<void> {
  await db.query('INSERT INTO stock_reservations (order_id, status, lines) VALUES ($1, $2, $3)', [
    reservation.orderId,
    reservation.status,
    JSON.stringify(reservation.lines),
  ]);
}

export async function setReservationStatus(db: Queryable, orderId: string, status: ReservationStatus): Promise<void> {
  await db.query('UPDATE stock_reservations SET status = $2, updated_at = now() WHERE order_id = $1', [orderId, status]);
}

/**
 * Current stock of `ids`, locking their rows in id order for the rest of the transaction: every
 * reservation and release locks in the same order, so none can deadlock with another.
 */
export async function lockStock(db: Queryable, ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; stock: number }>(
    'SELECT id, stock FROM products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.stock]));
}

/**
 * Adds `change` (negative takes) to each product's stock, relative to what it is now and only
 * where the result stays >= 0; returns how many products changed. Products deleted since are skipped.
 */
export async function adjustStock(db: Queryable, lines: readonly { productId: string; change: number }[]): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE products p SET stock = p.stock + w.change, updated_at = clock_timestamp()
     FROM unnest($1::uuid[], $2::int[]) AS w (id, change)
     WHERE p.id = w.id AND p.stock + w.change >= 0`,
    [lines.map((line) => line.productId), lines.map((line) => line.change)],
  );
  return rowCount ?? 0;
}
