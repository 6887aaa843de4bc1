import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { handling, startEventProcessing, type EventBus, type Logger, type Pool, type PoolClient } from '@mini/shared';
import * as repository from './repository.js';

// The order service's side of the saga (README "Events"): it publishes order.placed and
// order.cancelled (through its outbox, see service.ts) and consumes the product service's
// answers. Its own copy of the payloads it reads, as a tolerant reader.

export const SERVICE_GROUP = 'order-service';

/** What this service publishes. */
export interface OrderPlaced {
  orderId: string;
  userId: string;
  lines: { productId: string; quantity: number }[];
}
export interface OrderCancelled {
  orderId: string;
}

const Uuid = Type.String({ pattern: '^[0-9a-fA-F-]{36}$' });
const StockReserved = Type.Object({ orderId: Uuid });
const StockRejected = Type.Object({
  orderId: Uuid,
  reason: Type.Union([
    Type.Object({
      code: Type.Literal('out_of_stock'),
      lines: Type.Array(Type.Object({ productId: Uuid, requested: Type.Integer(), available: Type.Integer() })),
    }),
    Type.Object({ code: Type.Literal('product_unavailable'), productIds: Type.Array(Uuid) }),
  ]),
});
const isStockReserved = Compile(StockReserved);
const isStockRejected = Compile(StockRejected);

/** Stock is held: a pending order is confirmed. One cancelled meanwhile stays cancelled (its stock is released by its own event). */
export async function onStockReserved({ orderId }: Static<typeof StockReserved>, client: PoolClient): Promise<void> {
  await repository.transitionOrder(client, orderId, 'confirmed', ['pending']);
}

/** No stock was taken: a pending order is rejected, with the reason. */
export async function onStockRejected({ orderId, reason }: Static<typeof StockRejected>, client: PoolClient): Promise<void> {
  await repository.transitionOrder(client, orderId, 'rejected', ['pending'], reason);
}

/** The relay of this service's outbox and its consumers, as one resource to close on shutdown. */
export function startOrderEvents({ pool, bus, logger }: { pool: Pool; bus: EventBus; logger: Logger }) {
  return startEventProcessing({
    pool,
    bus,
    logger,
    group: SERVICE_GROUP,
    handlers: {
      'stock.reserved': handling(
        (payload) => isStockReserved.Check(payload),
        (event, client) => onStockReserved(event.payload, client),
      ),
      'stock.rejected': handling(
        (payload) => isStockRejected.Check(payload),
        (event, client) => onStockRejected(event.payload, client),
      ),
    },
  });
}
