import { randomUUID } from 'node:crypto';
import { outboxInsert, outboxParams, type OutboxEvent, type Pool, type PoolClient } from '@mini/shared';
import type { OrderStatus, PricedLine, RejectionReason } from './rules.js';

// SQL lives here only. Money is integer cents (BIGINT, read back as a JS number by the shared pool).

/** A pool or a client inside a transaction. */
export type Db = Pool | PoolClient;

export interface OrderLineRecord {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

export interface OrderHeader {
  id: string;
  userId: string;
  status: OrderStatus;
  /** Only on rejected orders. */
  reason: RejectionReason | null;
  totalCents: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderRecord extends OrderHeader {
  items: OrderLineRecord[];
}

export interface NewOrder {
  userId: string;
  status: OrderStatus;
  lines: readonly PricedLine[];
  totalCents: number;
}

const HEADER_COLUMNS = `id, user_id AS "userId", status, reason, total_cents AS "totalCents", created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * Inserts an order, all its lines and (when `announce` is given) the event announcing it in ONE
 * statement: atomic without an explicit transaction, and one round trip on the hottest write
 * path. line_no follows the order the caller listed them in.
 */
export async function insertOrder(db: Db, order: NewOrder, announce?: (orderId: string) => OutboxEvent): Promise<OrderRecord> {
  // The id is made here so the event announcing the order can name it in the same statement.
  const id = randomUUID();
  const event = announce?.(id);
  const { rows } = await db.query<OrderHeader>(
    `WITH header AS (
       INSERT INTO orders (id, user_id, status, total_cents) VALUES ($9, $1, $2, $3) RETURNING ${HEADER_COLUMNS}
     ), ${event ? `${outboxInsert(10)},` : ''} lines AS (
       INSERT INTO order_items (order_id, line_no, product_id, name, unit_price_cents, quantity, line_total_cents)
       SELECT header.id, line.no, line.product_id, line.name, line.unit_price_cents, line.quantity, line.line_total_cents
       FROM header, unnest($4::uuid[], $5::text[], $6::bigint[], $7::int[], $8::bigint[])
         WITH ORDINALITY AS line (product_id, name, unit_price_cents, quantity, line_total_cents, no)
     )
     SELECT header.* FROM header ${event ? ', stored_event' : ''}`,
    [
      order.userId,
      order.status,
      order.totalCents,
      order.lines.map((line) => line.productId),
      order.lines.map((line) => line.name),
      order.lines.map((line) => line.unitPriceCents),
      order.lines.map((line) => line.quantity),
      order.lines.map((line) => line.lineTotalCents),
      id,
      ...(event ? outboxParams(event) : []),
    ],
  );
  const header = rows[0]!;
  return {
    ...header,
    items: order.lines.map(({ productId, name, unitPriceCents, quantity, lineTotalCents }) => ({
      productId,
      name,
      unitPriceCents,
      quantity,
      lineTotalCents,
    })),
  };
}

// An order row with its lines as one JSON array (line order kept), so a read is one round trip.
const ORDER_WITH_LINES = `SELECT o.id, o.user_id AS "userId", o.status, o.reason, o.total_cents AS "totalCents",
    o.created_at AS "createdAt", o.updated_at AS "updatedAt", COALESCE(lines.items, '[]') AS items
  FROM orders o
  LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('productId', product_id, 'name', name, 'unitPriceCents', unit_price_cents,
             'quantity', quantity, 'lineTotalCents', line_total_cents) ORDER BY line_no) AS items
    FROM order_items WHERE order_id = o.id
  ) lines ON true`;

/** One order with its lines, or undefined. */
export async function findOrderById(db: Db, id: string): Promise<OrderRecord | undefined> {
  const { rows } = await db.query<OrderRecord>(`${ORDER_WITH_LINES} WHERE o.id = $1`, [id]);
  return rows[0];
}

/** A page of orders with their lines, newest first, of one user or of everyone; with the total count. */
export async function listOrders(
  db: Db,
  { userId, status, limit, offset }: { userId?: string | undefined; status?: OrderStatus | undefined; limit: number; offset: number },
): Promise<{ orders: OrderRecord[]; total: number }> {
  const filter: unknown[] = [];
  const conditions: string[] = [];
  if (userId !== undefined) conditions.push(`o.user_id = $${filter.push(userId)}`);
  if (status !== undefined) conditions.push(`o.status = $${filter.push(status)}`);
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  // The page (lines included) and the count in parallel: one round trip of latency.
  const [page, count] = await Promise.all([
    db.query<OrderRecord>(
      `${ORDER_WITH_LINES} ${where}
       ORDER BY o.created_at DESC, o.id DESC LIMIT $${filter.length + 1} OFFSET $${filter.length + 2}`,
      [...filter, limit, offset],
    ),
    db.query<{ total: number }>(`SELECT count(*) AS total FROM orders o ${where}`, filter),
  ]);
  return { orders: page.rows, total: count.rows[0]?.total ?? 0 };
}

/**
 * Moves an order to `to` only if it is still in one of `from`, atomically (a concurrent change
 * makes this a no-op). Returns the updated header, or undefined when nothing matched.
 */
export async function transitionOrder(
  db: Db,
  id: string,
  to: OrderStatus,
  from: readonly OrderStatus[],
  reason?: RejectionReason,
): Promise<OrderHeader | undefined> {
  const { rows } = await db.query<OrderHeader>(
    `UPDATE orders SET status = $2, reason = $4, updated_at = clock_timestamp()
     WHERE id = $1 AND status = ANY($3::text[]) RETURNING ${HEADER_COLUMNS}`,
    [id, to, from, reason === undefined ? null : JSON.stringify(reason)],
  );
  return rows[0];
}
