import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { BadGatewayError, createHttpClient, ServiceUnavailableError } from '@mini/shared';
import { amountToCents, type ProductSnapshot } from '../rules.js';

/** The product service's answer to `GET /products?ids=...`, as much of it as orders rely on (a tolerant reader). */
const ProductsPayload = Compile(
  Type.Object({
    products: Type.Array(
      Type.Object({
        id: Type.String({ minLength: 1 }),
        name: Type.String(),
        price: Type.Number({ minimum: 0 }),
        stock: Type.Integer({ minimum: 0 }),
      }),
    ),
  }),
);

/** The most ids the product service takes in one `GET /products?ids=` (an order has at most 50 lines). */
export const MAX_IDS_PER_REQUEST = 100;

export interface ProductClientOptions {
  /** Base URL of the product service, e.g. `http://127.0.0.1:3002`. */
  baseUrl: string;
  /** Deadline for one lookup, request to last byte of the answer (then 504). */
  timeoutMs?: number;
  /** Kept-alive connections to it. */
  connections?: number;
}

export interface ProductClient {
  /**
   * The current catalog entries of `ids`, by id; products that do not exist are absent.
   * One request for up to 100 ids. Throws 503 when the product service is down, 504 when it is
   * too slow, 502 when its answer is unusable.
   */
  findProducts(ids: readonly string[]): Promise<Map<string, ProductSnapshot>>;
  close(): Promise<void>;
}

/** The HTTP client of the product service, over kept-alive connections. */
export function createProductClient({ baseUrl, timeoutMs = 2_000, connections }: ProductClientOptions): ProductClient {
  const http = createHttpClient({
    baseUrl,
    name: 'product service',
    timeoutMs,
    connectTimeoutMs: Math.min(1_000, timeoutMs),
    connections,
  });

  /**
   * The one round trip to the product service and the seam for resilience: the planned circuit
   * breaker and jittered retries wrap this function (it only issues GETs, so retrying is safe).
   * Refused connection -> 503 and a slow answer -> 504 after `timeoutMs` come from the shared HTTP client.
   */
  async function request(path: string): Promise<unknown> {
    const { status, body } = await http.getJson(path);
    if (status >= 500) throw new ServiceUnavailableError('product service is unavailable');
    if (status !== 200) throw new BadGatewayError(`product service answered ${status}`);
    return body;
  }

  async function findProducts(ids: readonly string[]): Promise<Map<string, ProductSnapshot>> {
    const wanted = new Set(ids.map((id) => id.toLowerCase()));
    const found = new Map<string, ProductSnapshot>();
    const unique = [...wanted];
    for (let start = 0; start < unique.length; start += MAX_IDS_PER_REQUEST) {
      const chunk = unique.slice(start, start + MAX_IDS_PER_REQUEST);
      const body = await request(`/products?ids=${chunk.map(encodeURIComponent).join(',')}&limit=${MAX_IDS_PER_REQUEST}`);
      for (const product of toSnapshots(body)) {
        if (wanted.has(product.id)) found.set(product.id, product);
      }
    }
    return found;
  }

  return { findProducts, close: () => http.close() };
}

function toSnapshots(body: unknown): ProductSnapshot[] {
  if (!ProductsPayload.Check(body)) throw new BadGatewayError('product service sent an unexpected answer');
  return body.products.map(({ id, name, price, stock }) => {
    const priceCents = amountToCents(price);
    if (priceCents === undefined) throw new BadGatewayError('product service sent an invalid price');
    return { id: id.toLowerCase(), name, priceCents, stock };
  });
}
