import {
  ConflictError,
  enqueueEvent,
  ForbiddenError,
  newOutboxEvent,
  NotFoundError,
  ValidationError,
  withTransaction,
  type Caller,
  type ErrorDetail,
  type Pool,
} from '@mini/shared';
import type { ProductClient } from './clients/product-client.js';
import type { OrderCancelled, OrderPlaced } from './events.js';
import * as idempotency from './idempotency-keys.js';
import { requestHash } from './idempotency-keys.js';
import * as repository from './repository.js';
import type { OrderRecord } from './repository.js';
import {
  canTransition,
  findDuplicateLines,
  mayActFor,
  NEW_ORDER_STATUS,
  priceOrder,
  statusesAllowing,
  type RequestedLine,
} from './rules.js';
import type { ListOrdersQuery, PlaceOrderBody } from './schemas.js';

export interface OrderService {
  /**
   * Places an order and answers it as `render` writes it. With an `idempotencyKey`, the first
   * answer under that key (per caller, for 24 hours) is stored with the order, atomically, and a
   * retry with the same body gets it again byte for byte (`replayed`); another body is a 409.
   */
  placeOrder(caller: Caller, input: PlaceOrderBody, options: PlaceOptions): Promise<PlacedAnswer>;
  listOrders(caller: Caller, query: ListOrdersQuery): Promise<{ orders: OrderRecord[]; total: number }>;
  getOrder(caller: Caller, id: string): Promise<OrderRecord>;
  cancelOrder(caller: Caller, id: string): Promise<OrderRecord>;
}

export interface PlaceOptions {
  idempotencyKey?: string | undefined;
  /** The answer's body, as the client receives it (stored for replays). */
  render: (order: OrderRecord) => string;
}

export interface PlacedAnswer {
  body: string;
  orderId: string;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** The ordering use cases, over the order database and the product service. */
export function createOrderService({ pool, productClient }: { pool: Pool; productClient: ProductClient }): OrderService {
  async function placeOrder(caller: Caller, input: PlaceOrderBody, { idempotencyKey: key, render }: PlaceOptions): Promise<PlacedAnswer> {
    if (key === undefined) {
      const order = await placeNew(caller, input, pool);
      return { body: render(order), orderId: order.id, replayed: false };
    }
    const hash = requestHash(input);
    // A retry of a finished request is answered before anything else: even if the catalog has
    // changed since, the client gets the answer its first attempt got.
    const stored = await idempotency.findAnswer(pool, caller.id, key);
    if (stored?.statusCode != null) return replay(stored, hash);
    return withTransaction(pool, async (client) => {
      if (!(await idempotency.claimKey(client, caller.id, key, hash))) {
        // Another request with this key got there first; claimKey waited for it to commit.
        const first = await idempotency.findAnswer(client, caller.id, key);
        if (first?.statusCode == null) throw new ConflictError('a request with this Idempotency-Key is still in progress; retry');
        return replay(first, hash);
      }
      const order = await placeNew(caller, input, client);
      const answer = { body: render(order), orderId: order.id, replayed: false };
      await idempotency.storeAnswer(client, caller.id, key, { statusCode: 201, response: answer.body, orderId: order.id });
      return answer;
    });
  }

  async function placeNew(caller: Caller, input: PlaceOrderBody, db: repository.Db): Promise<OrderRecord> {
    const userId = (input.userId ?? caller.id).toLowerCase();
    if (!mayActFor(caller, userId)) throw new ForbiddenError('you may only place orders for yourself');

    const requested = requestedLines(input);
    const duplicates = findDuplicateLines(requested);
    if (duplicates.length > 0) {
      throw new ValidationError(
        'each product may appear on one line only',
        duplicates.map(({ index, productId }) => ({
          path: linePath(input, index, 'productId'),
          message: `product ${productId} is on an earlier line`,
          productId,
        })),
      );
    }

    // One request for every product of the order.
    const products = await productClient.findProducts(requested.map((line) => line.productId));
    const priced = priceOrder(requested, products);
    if (!priced.ok) throw pricingError(input, priced);

    // A pending order and its order.placed event, atomically (one statement): the product service
    // reserves the stock and its answer confirms or rejects the order (events.ts).
    const lines = priced.lines.map(({ productId, quantity }) => ({ productId, quantity }));
    return repository.insertOrder(db, { userId, status: NEW_ORDER_STATUS, lines: priced.lines, totalCents: priced.totalCents }, (orderId) =>
      newOutboxEvent('order.placed', { orderId, userId, lines } satisfies OrderPlaced),
    );
  }

  async function listOrders(caller: Caller, { userId, status, limit, offset }: ListOrdersQuery) {
    if (userId !== undefined && !mayActFor(caller, userId)) throw new ForbiddenError("only an admin may list another user's orders");
    // A non-admin only ever sees their own orders; an admin sees everyone's unless filtering.
    const owner = caller.role === 'admin' ? userId : caller.id;
    return repository.listOrders(pool, { userId: owner, status, limit, offset });
  }

  /** The order when the caller may see it; 404 otherwise, so ids of others' orders reveal nothing. */
  async function getOrder(caller: Caller, id: string): Promise<OrderRecord> {
    const order = await repository.findOrderById(pool, id);
    if (!order || !mayActFor(caller, order.userId)) throw new NotFoundError('order not found');
    return order;
  }

  async function cancelOrder(caller: Caller, id: string): Promise<OrderRecord> {
    const order = await getOrder(caller, id);
    if (!canTransition(order.status, 'cancelled')) throw cannotCancel(order.status);
    // Conditional on the status, so a concurrent cancel or confirmation cannot be overwritten; the
    // event releases a reservation (or stops one that has not landed yet) exactly once.
    const updated = await withTransaction(pool, async (client) => {
      const changed = await repository.transitionOrder(client, id, 'cancelled', statusesAllowing('cancelled'));
      if (changed) await enqueueEvent<OrderCancelled>(client, 'order.cancelled', { orderId: id });
      return changed;
    });
    if (!updated) {
      const current = await repository.findOrderById(pool, id);
      throw current ? cannotCancel(current.status) : new NotFoundError('order not found');
    }
    return { ...updated, items: order.items };
  }

  return { placeOrder, listOrders, getOrder, cancelOrder };
}

function replay(stored: idempotency.StoredAnswer, hash: string): PlacedAnswer {
  if (stored.requestHash !== hash) {
    throw new ConflictError('this Idempotency-Key was used with another body; use a new key for a new order', [
      { path: 'Idempotency-Key', location: 'headers', message: 'used with another body' },
    ]);
  }
  return { body: stored.response!, orderId: stored.orderId!, replayed: true };
}

function cannotCancel(status: string): ConflictError {
  return new ConflictError(`an order that is ${status} cannot be cancelled`, [{ path: 'status', message: `order is ${status}`, status }]);
}

/** Both body forms as one list of lines; ids in lower case so duplicates and lookups compare equal. */
function requestedLines(input: PlaceOrderBody): RequestedLine[] {
  const lines = 'items' in input ? input.items : [{ productId: input.productId, quantity: input.quantity ?? 1 }];
  return lines.map(({ productId, quantity }) => ({ productId: productId.toLowerCase(), quantity }));
}

/** Where in the body line `index` is: `items.2.quantity`, or `quantity` for the one-product form. */
function linePath(input: PlaceOrderBody, index: number, field: 'productId' | 'quantity'): string {
  return 'items' in input ? `items.${index}.${field}` : field;
}

function pricingError(input: PlaceOrderBody, result: Exclude<ReturnType<typeof priceOrder>, { ok: true }>) {
  switch (result.reason) {
    case 'unknown_products':
      return new ValidationError(
        'product not found',
        result.missing.map(({ index, productId }): ErrorDetail => ({
          path: linePath(input, index, 'productId'),
          message: `product ${productId} not found`,
          productId,
        })),
      );
    case 'insufficient_stock':
      return new ConflictError(
        'insufficient stock',
        result.shortfalls.map(({ index, productId, requested, available }): ErrorDetail => ({
          path: linePath(input, index, 'quantity'),
          message: `${requested} requested, ${available} in stock`,
          productId,
          requested,
          available,
        })),
      );
    case 'total_too_large':
      return new ValidationError('order total is too large');
  }
}
