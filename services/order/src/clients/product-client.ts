import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import CircuitBreaker from 'opossum';
import { BadGatewayError, createHttpClient, GatewayTimeoutError, ServiceUnavailableError } from '@mini/shared';
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
  /** Base URL of the product service, e.g. `http://127.0.0.1:3002`, or of each of its replicas. */
  baseUrl: string | readonly string[];
  /** Deadline for one lookup, retries included, request to last byte of the answer (then 504). */
  timeoutMs?: number;
  /** Kept-alive connections to it. */
  connections?: number;
  /** How long the breaker stays open before it lets one trial call through (default 5 s). */
  breakerResetMs?: number;
}

// Retries: only failures that say nothing reached a working product service (refused, reset,
// 502/503), never after the deadline, with jittered back-off so callers do not retry in step.
const RETRY_DELAYS_MS = [25, 100];

export interface ProductClient {
  /**
   * The current catalog entries of `ids`, by id; products that do not exist are absent.
   * One request for up to 100 ids. Throws 503 when the product service is down, 504 when it is
   * too slow, 502 when its answer is unusable.
   */
  findProducts(ids: readonly string[]): Promise<Map<string, ProductSnapshot>>;
  close(): Promise<void>;
}

/**
 * The HTTP client of the product service, over kept-alive connections, with a deadline on every
 * lookup, jittered retries (lookups are GETs: safe to repeat) and a circuit breaker (opossum):
 * after repeated failures it answers 503 with Retry-After at once, without calling the product
 * service, until a trial call after `breakerResetMs` succeeds.
 */
export function createProductClient({
  baseUrl,
  timeoutMs = 2_000,
  connections,
  breakerResetMs = 5_000,
}: ProductClientOptions): ProductClient {
  const replicas = (typeof baseUrl === 'string' ? [baseUrl] : baseUrl).map((url) =>
    createHttpClient({ baseUrl: url, name: 'product service', timeoutMs, connectTimeoutMs: Math.min(1_000, timeoutMs), connections }),
  );
  let nextReplica = 0;

  /** One round trip. Refused -> 503 and slow -> 504 come from the shared HTTP client. */
  async function requestOnce(path: string, remainingMs: number, replica: number): Promise<unknown> {
    const http = replicas[replica % replicas.length]!;
    const { status, body } = await http.getJson(path, { timeoutMs: remainingMs });
    if (status >= 500) throw new ServiceUnavailableError('product service is unavailable');
    if (status !== 200) throw new BadGatewayError(`product service answered ${status}`);
    return body;
  }

  // Round-robin over the replicas; each retry goes to the next one (a replica restarting refuses).
  async function requestWithRetries(path: string): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    const first = nextReplica++;
    for (let attempt = 0; ; attempt++) {
      try {
        return await requestOnce(path, Math.max(1, deadline - Date.now()), first + attempt);
      } catch (error) {
        const pause = RETRY_DELAYS_MS[attempt];
        if (pause === undefined || !isRetryable(error)) throw error;
        const jittered = pause / 2 + Math.random() * pause;
        if (Date.now() + jittered >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, jittered));
      }
    }
  }

  const breaker = new CircuitBreaker(requestWithRetries, {
    timeout: false, // the deadline above is the timeout
    resetTimeout: breakerResetMs,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    rollingCountTimeout: 10_000,
    // A 502 (garbage answer) counts as a failure; only a well-formed refusal would not, and there is none here.
    errorFilter: (error: unknown) =>
      !(error instanceof ServiceUnavailableError || error instanceof GatewayTimeoutError || error instanceof BadGatewayError),
  });
  let openedAt = 0;
  breaker.on('open', () => (openedAt = Date.now()));

  async function request(path: string): Promise<unknown> {
    try {
      return await breaker.fire(path);
    } catch (error) {
      if ((error as { code?: string }).code === 'EOPENBREAKER') {
        const retryAfterSeconds = Math.max(1, (openedAt + breakerResetMs - Date.now()) / 1000);
        throw new ServiceUnavailableError('product service is unavailable (circuit open)', { retryAfterSeconds });
      }
      throw error;
    }
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

  return {
    findProducts,
    close: async () => {
      breaker.shutdown();
      await Promise.all(replicas.map((http) => http.close()));
    },
  };
}

function toSnapshots(body: unknown): ProductSnapshot[] {
  if (!ProductsPayload.Check(body)) throw new BadGatewayError('product service sent an unexpected answer');
  return body.products.map(({ id, name, price, stock }) => {
    const priceCents = amountToCents(price);
    if (priceCents === undefined) throw new BadGatewayError('product service sent an invalid price');
    return { id: id.toLowerCase(), name, priceCents, stock };
  });
}

// Refused or reset connections and 502/503 answers never reached a working product service.
function isRetryable(error: unknown): boolean {
  return error instanceof ServiceUnavailableError || error instanceof BadGatewayError;
}
