import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { EventBus, EventBusOptions, EventEnvelope, EventHandler, Subscription } from './event-bus.js';
import { assertEventName } from './names.js';
import { withTimeout } from '../timeout.js';

// Our own fetch loop (pg-boss's work() would not poll under 500 ms). A publish wakes its consumers
// at once through NOTIFY; polling only covers a notification lost while the listener reconnects.
const POLL_INTERVAL_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
// Jobs taken per fetch; the bus's pool (max 5) bounds how many run their database work at once.
const BATCH_SIZE = 8;
// Under the ~2 s a readiness probe allows, with room for the HTTP round trip.
const CHECK_TIMEOUT_MS = 1_500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Every queue is one group's copy of one event type. pg-boss's own backoff has no ceiling (hours
// after a dozen failures), so the delay stays flat: a failing handler is retried every ~1-1.5 s.
const QUEUE_POLICY = {
  retryLimit: 1_000_000,
  retryDelay: 1,
  retryBackoff: false,
  // Only a consumer that died mid-handler waits this long (plus one maintenance round).
  expireInSeconds: 120,
} as const;

type Boss = InstanceType<typeof PgBoss>;

/** The PostgreSQL event bus on pg-boss: one queue per (group, type), fed by every publish of that type. */
export async function createPgEventBus({ url, name, logger, namespace = 'events' }: EventBusOptions): Promise<EventBus> {
  assertEventName('namespace', namespace);
  const schema = namespace.toLowerCase();
  const options: PgBoss.ConstructorOptions & { connectionTimeoutMillis: number } = {
    connectionString: url,
    schema,
    application_name: name,
    max: 5,
    // A database that is away must fail publish and check fast, not queue them.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // No cron schedules here, and no per-process state counts; maintenance (expire, archive) runs
    // once a minute in whichever process wins pg-boss's lock.
    schedule: false,
    supervise: true,
    maintenanceIntervalSeconds: 60,
  };
  const boss = new PgBoss(options);
  // pg-boss re-emits pool errors (a dropped connection); unheard, an 'error' event kills the process.
  boss.on('error', (error) => logger?.warn({ reason: error.message }, 'event bus database error'));
  await boss.start();
  const db = boss.getDb();
  const subscriptions = new Set<Subscription>();
  const channel = `${schema}_published`;
  const wakeUps = new Map<string, Set<() => void>>();
  const listener = listenForever({ url, name, channel, onType: (type) => wakeUps.get(type)?.forEach((wake) => wake()) });
  let closed = false;

  return {
    async publish(event) {
      if (closed) throw new Error('event bus is closed');
      assertEventName('type', event.type);
      // pg-boss's publish() swallows insert errors, so the fan-out is done here: one insert for all
      // groups subscribed to the type, which fails as a whole when the database is away.
      const { rows } = await db.executeSql(`SELECT name FROM ${schema}.subscription WHERE event = $1`, [event.type]);
      // Stored nowhere, the event would be lost: refuse it, and the outbox relay retries until the
      // consuming service has started once (its queue then holds events even while it is down).
      if (rows.length === 0) throw new Error(`no consumer group subscribes to ${event.type} yet`);
      const id = jobIdOf(event.id);
      const data = { id: event.id, type: event.type, occurredAt: event.occurredAt, payload: event.payload };
      // Same job id in a queue = the same row: a re-publish is dropped while the first copy is in the job
      // table (until it is archived, 12 h after completion).
      await boss.insert(rows.map((row: { name: string }) => ({ id, name: row.name, data })));
      // Wakes the consumers of this type now instead of at their next poll (a lost one costs a poll).
      await db.executeSql('SELECT pg_notify($1, $2)', [channel, event.type]).catch(() => undefined);
    },

    async subscribe({ group, type, handler }) {
      if (closed) throw new Error('event bus is closed');
      assertEventName('group', group);
      assertEventName('type', type);
      const queue = `${group}/${type}`;
      await retryOnDeadlock(async () => {
        await boss.createQueue(queue, { name: queue, ...QUEUE_POLICY });
        // A queue made by an older deploy keeps its settings otherwise.
        await boss.updateQueue(queue, { name: queue, ...QUEUE_POLICY });
        await boss.subscribe(type, queue);
      });
      const wakers = wakeUps.get(type) ?? new Set<() => void>();
      wakeUps.set(type, wakers);
      const subscription = pollForever(boss, queue, handler, logger, wakers);
      subscriptions.add(subscription);
      return {
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    async check() {
      if (closed) throw new Error('event bus is closed');
      await withTimeout(db.executeSql('SELECT 1', []), CHECK_TIMEOUT_MS, 'event bus database did not answer');
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      subscriptions.clear();
      await listener.close();
      // Our own loops are done, so there is nothing for pg-boss to wait for.
      await boss.stop({ graceful: false, close: true });
    },
  };
}

function pollForever(
  boss: Boss,
  queue: string,
  handler: EventHandler,
  logger: EventBusOptions['logger'],
  wakers: Set<() => void>,
): Subscription {
  const stop = new AbortController();
  let nap: AbortController | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    nap?.abort();
  };
  wakers.add(wake);
  const loop = (async () => {
    while (!stop.signal.aborted) {
      woken = false;
      // fetch() answers [] when the database is away, so an outage is only a quiet spell here.
      const jobs = await boss.fetch<EventEnvelope>(queue, { batchSize: BATCH_SIZE }).catch(() => []);
      // Handled side by side (a backlog drains BATCH_SIZE at a time; ordering is not promised anyway).
      // A job fetched just as close() began is active already: handling it beats a 2-minute expiry.
      if (jobs.length > 0) await Promise.all(jobs.map((job) => deliver(boss, queue, job, handler, logger)));
      else if (!woken) {
        nap = new AbortController();
        await sleep(POLL_INTERVAL_MS, undefined, { signal: AbortSignal.any([stop.signal, nap.signal]) }).catch(() => undefined);
      }
    }
  })();
  return {
    async close() {
      wakers.delete(wake);
      stop.abort();
      await loop;
    },
  };
}

/** One connection LISTENing for publishes, reconnected after a second whenever it drops. */
function listenForever({ url, name, channel, onType }: { url: string; name: string; channel: string; onType: (type: string) => void }) {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = () => {
    if (closed) return;
    const current = new pg.Client({
      connectionString: url,
      application_name: `${name} listener`,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    client = current;
    const again = () => {
      if (client !== current) return;
      client = undefined;
      void current.end().catch(() => undefined);
      if (!closed) retry = setTimeout(connect, 1_000);
    };
    current.on('notification', (message) => message.payload && onType(message.payload));
    current.on('error', again);
    current.on('end', again);
    current
      .connect()
      .then(() => current.query(`LISTEN "${channel}"`))
      .catch(again);
  };
  connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}

async function deliver(
  boss: Boss,
  queue: string,
  job: PgBoss.Job<EventEnvelope>,
  handler: EventHandler,
  logger: EventBusOptions['logger'],
) {
  let failure: Error | undefined;
  try {
    await handler(job.data);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    logger?.warn({ eventId: job.data.id, queue, reason: failure.message }, 'event handler failed; will retry');
  }
  try {
    if (failure) await boss.fail(queue, job.id, { message: failure.message });
    else await boss.complete(queue, job.id);
  } catch (error) {
    // The job stays active; maintenance expires it and it is delivered again (inbox de-duplicates).
    logger?.warn({ eventId: job.data.id, queue, reason: (error as Error).message }, 'event outcome not recorded');
  }
}

// pg-boss's createQueue alters shared tables: services starting together can deadlock on them
// (PostgreSQL then aborts one), and a retry succeeds.
async function retryOnDeadlock(work: () => Promise<void>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= attempts) throw error;
      await sleep(50 * attempt + Math.random() * 100);
    }
  }
}

/** pg-boss job ids are UUIDs: an event id that is one is used as is, any other maps to a stable one. */
function jobIdOf(eventId: string): string {
  if (UUID.test(eventId)) return eventId.toLowerCase();
  const hex = createHash('sha256').update(eventId).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
