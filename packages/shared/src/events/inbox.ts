import { withTransaction, type Pool, type PoolClient } from '../db.js';
import type { Logger } from '../logger.js';
import type { EventBus, EventEnvelope, Subscription } from './event-bus.js';
import { startRelay, type Queryable } from './outbox.js';

/** Checks an event's payload: the tolerant reader of what this consumer relies on. */
export type PayloadCheck<P> = (payload: unknown) => payload is P;

export interface ConsumeOptions<P> {
  pool: Pool;
  bus: EventBus;
  logger: Logger;
  /** The durable consumer: the service's name, so its replicas share the work. */
  group: string;
  type: string;
  isPayload: PayloadCheck<P>;
  /** Applies the event inside the transaction that also records it as handled. */
  handle: (event: EventEnvelope<P>, client: PoolClient) => Promise<void>;
}

/**
 * Consumes `type` idempotently: the event id is recorded in this service's `processed_events`
 * in the same transaction as the effect, and the broker is acknowledged only after it commits.
 * A redelivered event finds its id recorded and changes nothing; a failed one is redelivered.
 */
export async function consume<P>({ pool, bus, logger, group, type, isPayload, handle }: ConsumeOptions<P>): Promise<Subscription> {
  return bus.subscribe({
    group,
    type,
    handler: async (event) => {
      if (!isPayload(event.payload)) {
        // Retrying cannot fix a payload this consumer cannot read: record it and say so loudly.
        logger.error({ eventId: event.id, type, payload: event.payload }, 'event payload unreadable; skipped');
        await recordHandled(pool, group, event.id);
        return;
      }
      const typed = event as EventEnvelope<P>;
      await withTransaction(pool, async (client) => {
        if (!(await recordHandled(client, group, event.id))) return;
        await handle(typed, client);
      });
    },
  });
}

// False when the id was recorded already (a duplicate). A concurrent duplicate waits on the row
// lock of the first and then finds it.
async function recordHandled(db: Queryable, consumer: string, eventId: string): Promise<boolean> {
  const { rowCount } = await db.query('INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    consumer,
    eventId,
  ]);
  return (rowCount ?? 0) > 0;
}

/** How a service handles one event type: its payload check and its effect. */
export interface EventHandling<P> {
  isPayload: PayloadCheck<P>;
  handle: (event: EventEnvelope<P>, client: PoolClient) => Promise<void>;
}

/** Pairs a payload check with its handler so the handler's payload is typed. */
export function handling<P>(isPayload: PayloadCheck<P>, handle: EventHandling<P>['handle']): EventHandling<P> {
  return { isPayload, handle };
}

/**
 * A service's part in events, as one resource: the relay of its outbox and an idempotent
 * consumer per event type it handles. Closing stops the consumers first, then the relay.
 */
export async function startEventProcessing({
  pool,
  bus,
  logger,
  group,
  handlers,
}: {
  pool: Pool;
  bus: EventBus;
  logger: Logger;
  group: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry keeps its own payload type
  handlers: Record<string, EventHandling<any>>;
}): Promise<{ close(): Promise<void> }> {
  const relay = startRelay({ pool, bus, logger });
  const subscriptions: Subscription[] = [];
  try {
    for (const [type, { isPayload, handle }] of Object.entries(handlers)) {
      subscriptions.push(await consume({ pool, bus, logger, group, type, isPayload, handle }));
    }
  } catch (error) {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await relay.close();
    throw error;
  }
  return {
    async close() {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
      await relay.close();
    },
  };
}
