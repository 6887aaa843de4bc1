/**
 * How long an order stays pending: places N orders through a running stack's gateway and reads
 * each one's pending -> confirmed time from the order itself (updatedAt - createdAt, both
 * stamped by the order database). Prints median, p99 and max.
 *
 *   npm start   (in another terminal), then:
 *   npx tsx bench/saga-latency.ts [--orders 300] [--concurrency 4]
 *
 * GATEWAY_URL (default http://127.0.0.1:8080); the admin from ADMIN_USERNAME / ADMIN_PASSWORD or
 * npm start's .data/local-credentials.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { orders: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '4' } } });
const gateway = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const total = Number(values.orders);
const concurrency = Number(values.concurrency);

async function call(method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a measuring script reads answers loosely
  const json = (await response.json()) as any;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

function adminPassword(): string {
  if (process.env.ADMIN_PASSWORD) return process.env.ADMIN_PASSWORD;
  const file = '.data/local-credentials.json';
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { adminPassword: string }).adminPassword;
  throw new Error('set ADMIN_PASSWORD (or run from the folder npm start uses)');
}

const admin = (await call('POST', '/users/login', { username: process.env.ADMIN_USERNAME ?? 'admin', password: adminPassword() })).token;
const { product } = await call('POST', '/products', { name: `Latency ${Date.now()}`, description: '', price: 1, stock: total }, admin);
const shopper = (await call('POST', '/users/register', { username: `latency_${Date.now()}`, password: 'latency-password' })).token;

const ids: string[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next += 1;
      ids.push((await call('POST', '/orders', { productId: product.id }, shopper)).order.id);
    }
  }),
);

const waits: number[] = [];
for (const id of ids) {
  for (;;) {
    const { order } = await call('GET', `/orders/${id}`, undefined, shopper);
    if (order.status !== 'pending') {
      if (order.status !== 'confirmed') throw new Error(`order ${id} is ${order.status}`);
      waits.push(Date.parse(order.updatedAt) - Date.parse(order.createdAt));
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
waits.sort((a, b) => a - b);
const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]!;
process.stdout.write(
  `pending -> confirmed over ${waits.length} orders: median ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${waits.at(-1)} ms\n`,
);
