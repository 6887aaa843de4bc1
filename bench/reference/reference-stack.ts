/**
 * The minimal reference stack every figure of `npm run bench` is divided by: the same shape as
 * the shop (a Fastify + @fastify/http-proxy gateway in front of a product and an order service on
 * `pg`) with none of its duties: no auth, no validation, no logging, no total, no events.
 *
 *   node --import tsx bench/reference/reference-stack.ts gateway|product|order
 *
 * PORT, PRODUCT_URL / ORDER_URL (gateway, order), DATABASE_URL (product, order).
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import pg from 'pg';
import { Pool as HttpPool } from 'undici';

const role = process.argv[2];
const env = (name: string) => process.env[name] ?? '';
const app = Fastify();
const db = () => new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
const COLUMNS = 'id, name, description, price_cents, stock, created_at, updated_at';

if (role === 'gateway') {
  await app.register(proxy, { prefix: '/products', rewritePrefix: '/products', upstream: env('PRODUCT_URL') });
  await app.register(proxy, { prefix: '/orders', rewritePrefix: '/orders', upstream: env('ORDER_URL') });
} else if (role === 'product') {
  const pool = db();
  app.get('/products', async (request) => {
    const { limit = '20', offset = '0', q, after } = request.query as Record<string, string | undefined>;
    const params: unknown[] = [];
    const where: string[] = [];
    if (q) where.push(`name ILIKE $${params.push(`%${q}%`)}`);
    if (after) {
      const [createdAt, id] = after.split('~');
      where.push(`(created_at, id) > ($${params.push(createdAt)}::timestamptz, $${params.push(id)}::uuid)`);
    }
    const { rows } = await pool.query(
      `SELECT ${COLUMNS} FROM products ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${params.push(Number(limit))} OFFSET $${params.push(Number(offset))}`,
      params,
    );
    return { products: rows, limit: Number(limit), offset: Number(offset) };
  });
  app.get('/products/:id', async (request, reply) => {
    const { rows } = await pool.query(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [(request.params as { id: string }).id]);
    return rows[0] ? { product: rows[0] } : reply.code(404).send({ error: 'not found' });
  });
} else if (role === 'order') {
  const pool = db();
  const products = new HttpPool(env('PRODUCT_URL'), { connections: 32 });
  await pool.query(`CREATE TABLE IF NOT EXISTS orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL,
    total_cents bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS order_items (order_id uuid NOT NULL REFERENCES orders (id), product_id uuid NOT NULL,
    name text NOT NULL, unit_price_cents bigint NOT NULL, quantity int NOT NULL)`);
  app.post('/orders', async (request, reply) => {
    const { userId, productId, quantity = 1 } = request.body as { userId: string; productId: string; quantity?: number };
    const answer = await products.request({ method: 'GET', path: `/products/${productId}` });
    const { product } = (await answer.body.json()) as { product?: { name: string; price_cents: number } };
    if (!product) return reply.code(400).send({ error: 'product not found' });
    const { rows } = await pool.query(
      `WITH o AS (INSERT INTO orders (user_id, total_cents) VALUES ($1, $2) RETURNING *),
       i AS (INSERT INTO order_items SELECT o.id, $3, $4, $5, $6 FROM o) SELECT * FROM o`,
      [userId, product.price_cents * quantity, productId, product.name, product.price_cents, quantity],
    );
    return reply.code(201).send({ order: rows[0] });
  });
} else {
  throw new Error(`usage: reference-stack.ts gateway|product|order (got ${role})`);
}
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ port: Number(env('PORT')), host: '127.0.0.1' });
