/**
 * A shopper's journey against a running stack, through the gateway only:
 * register, log in, read my profile, admin logs in and adds a product, I order it, list my
 * orders, read the order until the product service has reserved its stock through the event
 * broker (pending -> confirmed); the admin sees it too. Used by scripts/compose-ci.sh (several
 * journeys at once spread requests over replicas) and handy by hand:
 *   npx tsx deploy/smoke-journey.ts --url http://127.0.0.1:8080 --runs 4 --concurrency 2
 * Admin credentials: E2E_ADMIN_USERNAME (default admin) and E2E_ADMIN_PASSWORD.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

// Confirmation takes well under a second; this leaves room for 32 journeys at once on two cores.
const CONFIRM_WITHIN_MS = 15_000;

/** The fields of the answers this journey reads. */
interface Body {
  token?: string;
  user?: { id?: string; role?: string };
  product?: { id?: string };
  order?: { id: string; total: number; userId: string; status?: string };
  orders?: { id: string }[];
}

interface Reply {
  status: number;
  body: Body;
}

async function call(base: string, method: string, path: string, { body, token }: { body?: unknown; token?: string } = {}): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}

function expectStatus(step: string, reply: Reply, status: number): void {
  if (reply.status !== status) throw new Error(`${step}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
}

/** One journey; throws on the first step that does not answer as the contract says. */
async function runJourney(base: string, admin: { username: string; password: string }): Promise<number> {
  let requests = 0;
  const step = async (name: string, method: string, path: string, status: number, options?: { body?: unknown; token?: string }) => {
    requests++;
    const reply = await call(base, method, path, options);
    expectStatus(name, reply, status);
    return reply.body;
  };
  const username = `smoke_${randomUUID().slice(0, 12)}`;
  const password = 'a long journey password';
  const registered = await step('register', 'POST', '/users/register', 201, { body: { username, password } });
  const login = await step('login', 'POST', '/users/login', 200, { body: { username, password } });
  const token = String(login.token);
  const me = await step('me', 'GET', '/users/me', 200, { token });
  if (me.user?.id !== registered.user?.id) throw new Error('me: another user came back');

  const adminLogin = await step('admin login', 'POST', '/users/login', 200, { body: admin });
  if (adminLogin.user?.role !== 'admin') throw new Error('admin login: the account is not an admin');
  const adminToken = String(adminLogin.token);
  const created = await step('create product', 'POST', '/products', 201, {
    token: adminToken,
    body: { name: `Smoke Lamp ${randomUUID().slice(0, 8)}`, description: 'Lights the smoke test', price: 12.5, stock: 5 },
  });
  const productId = String(created.product?.id);
  await step('read product', 'GET', `/products/${productId}`, 200);

  const placed = await step('place order', 'POST', '/orders', 201, { token, body: { productId, quantity: 2 } });
  const order = placed.order;
  if (!order || order.total !== 25 || order.userId !== registered.user?.id)
    throw new Error(`place order: unexpected order ${JSON.stringify(order)}`);
  const mine = await step('list my orders', 'GET', '/orders', 200, { token });
  if (!(mine.orders ?? []).some((o) => o.id === order.id)) throw new Error('list my orders: the new order is missing');
  // The saga: the order starts pending and is confirmed once product reserved the stock (events
  // over NATS, whichever replicas handle them).
  const confirmBy = Date.now() + CONFIRM_WITHIN_MS;
  let status: string | undefined;
  for (;;) {
    status = (await step('read my order', 'GET', `/orders/${order.id}`, 200, { token })).order?.status;
    if (status !== 'pending' || Date.now() > confirmBy) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (status !== 'confirmed')
    throw new Error(`order ${order.id}: ${status ?? 'no status'} after ${CONFIRM_WITHIN_MS} ms, expected confirmed`);
  await step('admin reads the order', 'GET', `/orders/${order.id}`, 200, { token: adminToken });
  await step('anonymous order is refused', 'POST', '/orders', 401, { body: { productId } });
  return requests;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      runs: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1' },
    },
  });
  const base = (values.url ?? '').replace(/\/$/, '');
  const runs = Number(values.runs);
  const concurrency = Math.max(1, Math.min(Number(values.concurrency), runs));
  const admin = { username: process.env.E2E_ADMIN_USERNAME ?? 'admin', password: process.env.E2E_ADMIN_PASSWORD ?? '' };
  if (!admin.password) throw new Error('set E2E_ADMIN_PASSWORD to the admin password the stack was started with');
  const started = Date.now();
  let next = 0;
  let requests = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < runs) {
        next++;
        const made = await runJourney(base, admin);
        requests += made;
      }
    }),
  );
  console.log(
    `smoke journey: ${runs} journeys (${requests} requests, ${concurrency} at a time) passed against ${base} in ${Date.now() - started} ms`,
  );
}

// A deadline that also keeps Node alive: should a request's connection die without settling its
// promise, the process must fail, not exit 0 half-way.
const deadline = setTimeout(() => {
  console.error('smoke journey failed: not finished within 240 s');
  process.exit(1);
}, 240_000);
main().then(
  () => clearTimeout(deadline),
  (error: unknown) => {
    console.error(`smoke journey failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
