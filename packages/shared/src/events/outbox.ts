import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from '../db.js';
import type { Logger } from '../logger.js';
import type { EventBus, EventEnvelope } from './event-bus.js';

/**
 * The folder of the outbox and inbox tables' migration: pass it to `openDatabase` beside the
 * service's own (two levels up from src/events and dist/events alike).
 */
export const EVENTS_MIGRATIONS = new URL('../../migrations', import.meta.url);

const OUTBOX_CHANNEL = 'outbox';

/** A pool, or the client of the transaction whose change the event announces. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * Stores an event in the outbox. Call it inside the transaction of the change it announces:
 * the event is published if and only if that transaction commits.
 */
export async function enqueueEvent<P>(db: Queryable, type: string, payload: P): Promise<EventEnvelope<P>> {
  const event = newOutboxEvent(type, payload);
  const { rows } = await db.query<{ createdAt: Date }>(
    `WITH ${outboxInsert(1)} SELECT created_at AS "createdAt" FROM stored_event`,
    outboxParams(event),
  );
  return { id: event.id, type, occurredAt: rows[0]!.createdAt.toISOString(), payload };
}

/** An event about to be stored: for a write that stores it in the same statement as its change. */
export interface OutboxEvent {
  id: string;
  type: string;
  payload: unknown;
}

export function newOutboxEvent(type: string, payload: unknown): OutboxEvent {
  return { id: randomUUID(), type, payload };
}

/**
 * A data-modifying CTE, `stored_event`, that stores an event from three parameters starting at
 * `$first` (see `outboxParams`): a write can store its change and its event in ONE statement,
 * atomic without a transaction. Select from `stored_event` so the NOTIFY in it runs; NOTIFY is
 * transactional, so the relays hear it when (and only if) the statement commits.
 */
export function outboxInsert(first: number): string {
  return `stored_event AS (
    INSERT INTO outbox (id, type, payload) VALUES ($${first}, $${first + 1}, $${first + 2})
    RETURNING created_at, pg_notify('${OUTBOX_CHANNEL}', '') AS notified
  )`;
}

/** The parameters `outboxInsert` reads, in order. */
export function outboxParams(event: OutboxEvent): unknown[] {
  return [event.id, event.type, JSON.stringify(event.payload)];
}

export interface RelayOptions {
  pool: Pool;
  bus: EventBus;
  logger: Logger;
  /**
   * How often an idle relay looks for new rows (default 1 s). New rows wake it at once through
   * LISTEN/NOTIFY; polling only covers a lost notification or a dropped listening connection.
   */
  pollMs?: number;
  /** Rows published per round (default 100). */
  batchSize?: number;
  /** Published outbox rows and handled inbox ids older than this are deleted (default 1 day). */
  retentionMs?: number;
}

export interface Relay {
  /** Stops after the round in hand; what it did not publish stays for the next start. */
  close(): Promise<void>;
}

const HOUSEKEEPING_EVERY_MS = 60_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * Publishes outbox rows to the bus, oldest first, at least once: a row is stamped published only
 * after the broker took it, so whatever a crash or an outage left behind goes out on the next
 * round (of this process or of any replica: rows are claimed with SKIP LOCKED).
 */
export function startRelay({ pool, bus, logger, pollMs = 1_000, batchSize = 100, retentionMs = 86_400_000 }: RelayOptions): Relay {
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let lastHousekeeping = Date.now();
  let failures = 0;
  let notified = false;
  let listener: PoolClient | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (notified) return resolve();
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const wake = () => {
    notified = true;
    wakeUp?.();
  };

  // One connection of the pool stays LISTENing; when it breaks, the next round opens another.
  async function ensureListening() {
    if (listener || stopped) return;
    const client = await pool.connect();
    const drop = () => {
      if (listener !== client) return;
      listener = undefined;
      client.release(true);
    };
    client.on('notification', wake);
    client.on('error', drop);
    try {
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      listener = client;
    } catch (error) {
      client.release(true);
      throw error;
    }
  }

  async function round(): Promise<number> {
    return withTransaction(pool, async (client) => {
      // A stamp lost in a crash only means the event is sent again (at least once), so this
      // commit need not wait for the disk.
      await client.query('SET LOCAL synchronous_commit = off');
      const { rows } = await client.query<{ id: string; type: string; payload: unknown; createdAt: Date }>(
        `SELECT id, type, payload, created_at AS "createdAt" FROM outbox WHERE published_at IS NULL
         ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      const results = await Promise.allSettled(
        rows.map((row) => bus.publish({ id: row.id, type: row.type, occurredAt: row.createdAt.toISOString(), payload: row.payload })),
      );
      const published = rows.filter((_, index) => results[index]!.status === 'fulfilled').map((row) => row.id);
      // Stamp what the broker took even when some failed: those are retried, these not re-sent.
      if (published.length > 0) await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [published]);
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw new RelayError(published.length, rows.length, failed.reason);
      return rows.length;
    });
  }

  async function housekeeping() {
    if (Date.now() - lastHousekeeping < HOUSEKEEPING_EVERY_MS) return;
    lastHousekeeping = Date.now();
    const cutoff = new Date(Date.now() - retentionMs);
    await pool.query('DELETE FROM outbox WHERE published_at < $1', [cutoff]);
    await pool.query('DELETE FROM processed_events WHERE handled_at < $1', [cutoff]);
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await ensureListening();
        notified = false;
        const count = await round();
        if (failures > 0) logger.info({ after: failures }, 'event relay recovered');
        failures = 0;
        await housekeeping();
        if (count < batchSize && !stopped) await sleep(pollMs);
      } catch (error) {
        failures += 1;
        // One line per outage, not one per round: the relay keeps trying with a capped back-off.
        if (failures === 1) logger.warn({ reason: reasonOf(error) }, 'event relay cannot publish; retrying');
        if (!stopped) await sleep(Math.min(MAX_BACKOFF_MS, pollMs * 2 ** Math.min(failures, 10)));
      }
    }
  })();

  return {
    async close() {
      stopped = true;
      wakeUp?.();
      await loop;
      // Destroyed, not returned: a pooled connection must not stay LISTENing.
      listener?.release(true);
      listener = undefined;
    },
  };
}

class RelayError extends Error {
  constructor(published: number, claimed: number, cause: unknown) {
    super(`published ${published} of ${claimed} events: ${reasonOf(cause)}`, { cause });
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
