import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { enqueueEvent, handling, startEventProcessing, type EventBus, type Logger, type Pool, type PoolClient } from '@mini/shared';
import * as repository from './repository.js';
import { planReservation, sumLinesByProduct, type RejectionReason } from './rules.js';

// The product service's side of the order saga (README "Events"): it consumes order.placed and
// order.cancelled and answers stock.reserved or stock.rejected. Its own copy of the payloads it
// reads, as a tolerant reader: fields it does not use are ignored.

export const SERVICE_GROUP = 'product-service';

const Uuid = Type.String({ pattern: '^[0-9a-fA-F-]{36}$' });

const OrderPlaced = Type.Object({
  orderId: Uuid,
  lines: Type.Array(Type.Object({ productId: Uuid, quantity: Type.Integer({ minimum: 1 }) }), { minItems: 1 }),
});
const OrderCancelled = Type.Object({ orderId: Uuid });
const isOrderPlaced = Compile(OrderPlaced);
const isOrderCancelled = Compile(OrderCancelled);

/** What this service publishes. */
export interface StockReserved {
  orderId: string;
}
export interface StockRejected {
  orderId: string;
  reason: RejectionReason;
}

/**
 * Reserves stock for every line of the order or for none, in one transaction: rows locked in id
 * order, relative updates guarded by `stock >= n`, the reservation recorded by order id and the
 * answer queued in the outbox. An order already decided (or cancelled before it arrived) is left alone.
 */
export async function onOrderPlaced({ orderId, lines }: Static<typeof OrderPlaced>, client: PoolClient): Promise<void> {
  if (await repository.findReservationForUpdate(client, orderId)) return;
  const wanted = sumLinesByProduct(lines);
  const plan = planReservation(
    wanted,
    await repository.lockStock(
      client,
      wanted.map((line) => line.productId),
    ),
  );
  if (!plan.ok) {
    await repository.insertReservation(client, { orderId, status: 'rejected', lines: wanted });
    await enqueueEvent<StockRejected>(client, 'stock.rejected', { orderId, reason: plan.reason });
    return;
  }
  const changed = await repository.adjustStock(
    client,
    plan.lines.map(({ productId, quantity }) => ({ productId, change: -quantity })),
  );
  // The rows are locked and were checked: anything else is a bug, and the transaction rolls back.
  if (changed !== plan.lines.length) throw new Error(`reservation of order ${orderId} changed ${changed} of ${plan.lines.length} products`);
  await repository.insertReservation(client, { orderId, status: 'reserved', lines: plan.lines });
  await enqueueEvent<StockReserved>(client, 'stock.reserved', { orderId });
}

/**
 * Gives a reserved order's stock back, once. A cancellation that arrives before its order is
 * recorded, so the order, when it comes, reserves nothing.
 */
export async function onOrderCancelled({ orderId }: Static<typeof OrderCancelled>, client: PoolClient): Promise<void> {
  const reservation = await repository.findReservationForUpdate(client, orderId);
  if (!reservation) {
    await repository.insertReservation(client, { orderId, status: 'cancelled', lines: [] });
    return;
  }
  if (reservation.status !== 'reserved') return;
  await repository.lockStock(
    client,
    reservation.lines.map((line) => line.productId),
  );
  await repository.adjustStock(
    client,
    reservation.lines.map(({ productId, quantity }) => ({ productId, change: quantity })),
  );
  await repository.setReservationStatus(client, orderId, 'released');
}

/** The relay of this service's outbox and its consumers, as one resource to close on shutdown. */
export function startProductEvents({ pool, bus, logger }: { pool: Pool; bus: EventBus; logger: Logger }) {
  return startEventProcessing({
    pool,
    bus,
    logger,
    group: SERVICE_GROUP,
    handlers: {
      'order.placed': handling(
        (payload) => isOrderPlaced.Check(payload),
        (event, client) => onOrderPlaced(event.payload, client),
      ),
      'order.cancelled': handling(
        (payload) => isOrderCancelled.Check(payload),
        (event, client) => onOrderCancelled(event.payload, client),
      ),
    },
  });
}
