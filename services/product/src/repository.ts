import type { Pool, PoolClient } from '@mini/shared';
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

/** Fields an admin edit changes; absent ones keep their value. */
export type ProductChanges = Partial<NewProduct>;

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

function whereClause({ q, ids }: ProductFilter, params: unknown[]): string {
  const conditions: string[] = [];
  if (q !== undefined) {
    params.push(containsPattern(q));
    conditions.push(`name ILIKE $${params.length}`);
  }
  if (ids !== undefined) {
    params.push(ids);
    conditions.push(`id = ANY($${params.length}::uuid[])`);
  }
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}

/** One page of products in their stable order (created_at, id) and how many match in all. */
export async function listProducts(
  db: Queryable,
  filter: ProductFilter,
  { limit, offset }: { limit: number; offset: number },
): Promise<{ products: ProductRecord[]; total: number }> {
  const params: unknown[] = [];
  const where = whereClause(filter, params);
  // The total rides along on each row, so a page is one round trip; only a page past the end needs a second.
  const { rows } = await db.query<ProductRow & { total: number }>(
    `SELECT ${COLUMNS}, count(*) OVER () AS total FROM products ${where}
     ORDER BY created_at, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, limit, offset],
  );
  if (rows[0]) return { products: rows.map(toRecord), total: rows[0].total };
  if (offset === 0) return { products: [], total: 0 };
  const counted = await db.query<{ total: number }>(`SELECT count(*) AS total FROM products ${where}`, params);
  return { products: [], total: counted.rows[0]?.total ?? 0 };
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
 * Applies an admin edit in one statement and bumps updated_at; undefined when
 * the product does not exist. Setting `stock` here is an absolute overwrite by
 * an admin; reservations for orders will get their own relative functions
 * (`stock = stock - n WHERE stock >= n`) so they never lose updates.
 */
export async function updateProduct(db: Queryable, id: string, changes: ProductChanges): Promise<ProductRecord | undefined> {
  const columns: Record<keyof NewProduct, string> = { name: 'name', description: 'description', priceCents: 'price_cents', stock: 'stock' };
  const params: unknown[] = [id];
  const assignments: string[] = [];
  for (const key of Object.keys(columns) as (keyof NewProduct)[]) {
    if (changes[key] === undefined) continue;
    params.push(changes[key]);
    assignments.push(`${columns[key]} = $${params.length}`);
  }
  // clock_timestamp(), not now(): the edit time, even inside a longer transaction.
  assignments.push('updated_at = clock_timestamp()');
  const { rows } = await db.query<ProductRow>(`UPDATE products SET ${assignments.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`, params);
  return rows[0] && toRecord(rows[0]);
}

/** True when a product was deleted. */
export async function deleteProduct(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM products WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}
