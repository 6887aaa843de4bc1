import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { createLogger, createPool, createTokenVerifier, EVENTS_MIGRATIONS, runMigrations, type App, type Pool } from '@mini/shared';
import { createDatabase, createTestIssuer } from '@mini/shared/testing';
import { buildApp } from '../app.js';
import { createProductClient, type ProductClient } from '../clients/product-client.js';

/** A product as the product service answers it. */
export interface StubProduct {
  id: string;
  name: string;
  description: string;
  price: number;
  stock: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * A stand-in for the product service at the HTTP boundary: `GET /products?ids=` served from an
 * in-memory catalog, every request recorded, with switches for slow, failing and garbage answers.
 */
export interface ProductStub {
  url: string;
  catalog: Map<string, StubProduct>;
  /** Every request received, as URLs. */
  requests: URL[];
  /** Delay before answering, in ms (0 = answer at once). */
  delayMs: number;
  /** When set, answer with this status and an error envelope. */
  failStatus: number | undefined;
  /** When set, the next this-many requests have their connection reset instead of an answer. */
  resetNext: number;
  /** When set, answer 200 with this body instead of the catalog (a JSON value, or raw text). */
  override: { json: unknown } | { text: string } | undefined;
  /** Adds a product (defaults: random id and name, 10.00, 100 in stock). */
  add(product?: Partial<StubProduct>): StubProduct;
  /** Requests that asked for this product id. */
  requestsFor(id: string): URL[];
  reset(): void;
  close(): Promise<void>;
}

export async function startProductStub(): Promise<ProductStub> {
  const timers = new Set<NodeJS.Timeout>();
  const stub: ProductStub = {
    url: '',
    catalog: new Map(),
    requests: [],
    delayMs: 0,
    failStatus: undefined,
    resetNext: 0,
    override: undefined,
    add(product = {}) {
      const now = new Date().toISOString();
      const full: StubProduct = {
        id: randomUUID(),
        name: `product ${randomUUID().slice(0, 8)}`,
        description: 'a test product',
        price: 10,
        stock: 100,
        createdAt: now,
        updatedAt: now,
        ...product,
      };
      stub.catalog.set(full.id, full);
      return full;
    },
    requestsFor: (id) => stub.requests.filter((url) => (url.searchParams.get('ids') ?? '').split(',').includes(id)),
    reset() {
      stub.delayMs = 0;
      stub.failStatus = undefined;
      stub.resetNext = 0;
      stub.override = undefined;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function answer(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method !== 'GET' || url.pathname !== '/products')
      return send(res, 404, { error: { code: 'not_found', message: 'no such route' } });
    if (stub.failStatus) return send(res, stub.failStatus, { error: { code: 'internal_error', message: 'Internal Server Error' } });
    if (stub.override && 'text' in stub.override) return sendText(res, 200, stub.override.text);
    if (stub.override) return send(res, 200, stub.override.json);
    const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
    const products = ids.flatMap((id) => stub.catalog.get(id) ?? []);
    return send(res, 200, { products, total: products.length, limit: Number(url.searchParams.get('limit') ?? 20), offset: 0 });
  }

  const server = createServer((req, res) => {
    stub.requests.push(new URL(req.url ?? '/', 'http://stub'));
    if (stub.resetNext > 0) {
      stub.resetNext -= 1;
      return void req.socket.resetAndDestroy();
    }
    if (stub.delayMs <= 0) return answer(req, res);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) answer(req, res);
    }, stub.delayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

function send(res: ServerResponse, status: number, body: unknown) {
  sendText(res, status, JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(text);
}

/** A fresh database with the migrations applied. */
export async function createOrderDatabase(): Promise<{ url: string; pool: Pool }> {
  const url = await createDatabase(inject('postgresUrl'), 'order');
  await runMigrations({
    databaseUrl: url,
    dir: [fileURLToPath(EVENTS_MIGRATIONS), fileURLToPath(new URL('../../migrations', import.meta.url))],
  });
  return { url, pool: createPool(url, { max: 5 }) };
}

/**
 * Everything a component test of the order service needs: its own database, a token issuer,
 * a product stub, and apps built over them (the default one talks to the stub).
 */
export async function setUpOrderService() {
  const { pool } = await createOrderDatabase();
  const issuer = await createTestIssuer();
  const stub = await startProductStub();
  const verifyToken = createTokenVerifier({ keys: issuer.keys, issuer: issuer.issuer, audience: issuer.audience });
  const opened: { app: App; productClient: ProductClient }[] = [];

  /** An app whose product client talks to `productUrl` (default: the stub). */
  async function startApp({ productUrl = stub.url, timeoutMs = 2_000 }: { productUrl?: string; timeoutMs?: number } = {}) {
    const productClient = createProductClient({ baseUrl: productUrl, timeoutMs });
    const app = await buildApp({ pool, logger: createLogger('order-service', { level: 'silent' }), verifyToken, productClient });
    opened.push({ app, productClient });
    return app;
  }

  const app = await startApp();
  return {
    app,
    pool,
    issuer,
    stub,
    startApp,
    signIn: issuer.signIn,
    async close() {
      for (const { app: opened_, productClient } of opened) {
        await opened_.close();
        await productClient.close();
      }
      await stub.close();
      await pool.end();
    },
  };
}

export type OrderTestContext = Awaited<ReturnType<typeof setUpOrderService>>;
