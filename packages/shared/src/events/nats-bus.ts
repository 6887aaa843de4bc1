import { setTimeout as sleep } from 'node:timers/promises';
import { AuthorizationError, connect, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { EventBus, EventBusOptions, EventEnvelope, EventHandler, Subscription } from './event-bus.js';
import { assertEventName } from './names.js';
import { natsDurableName, natsInboxPrefix, natsStreamName } from './nats-permissions.js';
import { withTimeout } from '../timeout.js';

const SECOND_NS = 1_000_000_000;
// Within this window a re-sent message id is dropped by the server: covers an outbox relay retrying
// after a lost publish ack or a crash between publish and marking the row sent.
const DUPLICATE_WINDOW_NS = 120 * SECOND_NS;
// Unacknowledged events are kept this long for a group that is down; a group away longer loses them.
const MAX_AGE_NS = 7 * 24 * 3600 * SECOND_NS;
// Only a consumer that died mid-handler waits this long: a live one sends progress while it works.
const ACK_WAIT_NS = 30 * SECOND_NS;
const PROGRESS_EVERY_MS = 10_000;
const REQUEST_TIMEOUT_MS = 3_000;
// Under the ~2 s a readiness probe allows, with room for the HTTP round trip.
const CHECK_TIMEOUT_MS = 1_500;

/** The NATS JetStream event bus: one stream per namespace, one durable pull consumer per (group, type). */
export async function createNatsEventBus({ url, name, logger, namespace = 'events', user, password }: EventBusOptions): Promise<EventBus> {
  const stream = natsStreamName(namespace);
  const nc = await connectTo(url, name, credentialsOf(url, user, password));
  watchConnection(nc, logger).catch(() => undefined);
  const js = jetstream(nc, { timeout: REQUEST_TIMEOUT_MS });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS });
    await ensureStream(jsm, {
      name: stream,
      subjects: [`${namespace}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: DUPLICATE_WINDOW_NS,
      max_age: MAX_AGE_NS,
    });
  } catch (error) {
    await nc.close();
    throw error;
  }
  const subscriptions = new Set<Subscription>();

  return {
    async publish(event) {
      assertEventName('type', event.type);
      const body = JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt, payload: event.payload });
      // msgID travels as the Nats-Msg-Id header: the server's de-duplication key.
      await js.publish(`${namespace}.${event.type}`, body, { msgID: event.id });
    },

    async subscribe({ group, type, handler }) {
      const durable = natsDurableName(group, type);
      await ensureConsumer(jsm, stream, {
        durable_name: durable,
        filter_subject: `${namespace}.${type}`,
        ack_policy: AckPolicy.Explicit,
        // A new group starts with every event the stream still holds: one published before the
        // consumer's first deploy (say order.placed before the product service ever ran) is not lost.
        deliver_policy: DeliverPolicy.All,
        ack_wait: ACK_WAIT_NS,
        max_deliver: -1,
        max_ack_pending: 1_000,
      });
      const subscription = consumeForever({ nc, stream, durable, handler, logger });
      subscriptions.add(subscription);
      return {
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    async check() {
      if (nc.isClosed()) throw new Error('event bus is closed');
      await withTimeout(jsm.getAccountInfo(), CHECK_TIMEOUT_MS, 'NATS JetStream did not answer');
    },

    async close() {
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      subscriptions.clear();
      if (nc.isClosed()) return;
      // Drain flushes the acks just sent; a broker that is away must not hold the shutdown.
      await withTimeout(nc.drain(), REQUEST_TIMEOUT_MS, 'NATS drain timed out').catch(() => nc.close());
    },
  };
}

interface Credentials {
  user: string;
  pass: string;
}

/** The user and password from the options or from the URL's userinfo: one place, both halves. */
function credentialsOf(url: string, user = '', password = ''): Credentials | undefined {
  const parsed = new URL(url);
  const inUrl = parsed.username !== '' || parsed.password !== '';
  if (inUrl && (user || password))
    throw new Error('event bus credentials are both in EVENT_BUS_URL and in EVENT_BUS_USER/EVENT_BUS_PASSWORD: give them in one place');
  const found = inUrl ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : { user, pass: password };
  if (!found.user && !found.pass) return undefined;
  if (!found.user) throw new Error('event bus password given without a user: set EVENT_BUS_USER too');
  if (!found.pass) throw new Error(`event bus user "${found.user}" has no password: set EVENT_BUS_PASSWORD too`);
  return found;
}

// Only the broker's own words and the user name go into the error: never the password or the URL.
async function connectTo(url: string, name: string, credentials: Credentials | undefined): Promise<NatsConnection> {
  try {
    return await connect({ ...connectionOptions(url, credentials), name });
  } catch (error) {
    if (!(error instanceof AuthorizationError)) throw error;
    throw new Error(
      credentials
        ? `the event bus refused user "${credentials.user}" (NATS: ${error.message}): check EVENT_BUS_USER and EVENT_BUS_PASSWORD`
        : `the event bus requires credentials (NATS: ${error.message}): set EVENT_BUS_USER and EVENT_BUS_PASSWORD`,
    );
  }
}

function connectionOptions(url: string, credentials: Credentials | undefined) {
  const parsed = new URL(url);
  return {
    servers: `${parsed.hostname}:${parsed.port || '4222'}`,
    ...credentials,
    // Replies come to this user's own inbox, the only subjects the broker lets it subscribe to.
    inboxPrefix: natsInboxPrefix(credentials?.user),
    ...(parsed.protocol === 'tls:' ? { tls: {} } : {}),
    // The broker may be away for minutes: keep trying, and fail requests (not the process) meanwhile.
    maxReconnectAttempts: -1,
    // Also when it refuses the password on a reconnect (rotated on the broker first): the
    // connection recovers once both sides agree, instead of closing for good.
    ignoreAuthErrorAbort: true,
    reconnectTimeWait: 1_000,
    reconnectJitter: 500,
    timeout: REQUEST_TIMEOUT_MS,
    pingInterval: 10_000,
    maxPingOut: 2,
    ignoreClusterUpdates: true,
  };
}

async function watchConnection(nc: NatsConnection, logger: EventBusOptions['logger']) {
  // The broker's complaints (a permission it denies, a refused password on reconnect) would
  // otherwise go unseen; each distinct one is logged once until the next reconnect.
  let lastError: string | undefined;
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') logger?.warn({ server: status.server }, 'event bus disconnected');
    if (status.type === 'reconnect') {
      lastError = undefined;
      logger?.info({ server: status.server }, 'event bus reconnected');
    }
    if (status.type === 'error' && status.error.message !== lastError) {
      lastError = status.error.message;
      logger?.warn({ reason: status.error.message }, 'event bus error');
    }
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Same name, other settings (an older deploy): bring it up to date rather than fail the start.
    if (!(error instanceof JetStreamApiError)) throw error;
    const { name, ...changes } = config;
    await jsm.streams.update(name, changes);
  }
}

async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }) {
  try {
    // Server 2.9 updates a durable whose settings changed; 2.10+ refuses and wants an update instead.
    await jsm.consumers.add(stream, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    const { ack_wait, max_deliver, max_ack_pending } = config;
    await jsm.consumers.update(stream, config.durable_name, { ack_wait, max_deliver, max_ack_pending });
  }
}

interface ConsumeOptions {
  nc: NatsConnection;
  stream: string;
  durable: string;
  handler: EventHandler;
  logger: EventBusOptions['logger'];
}

// The client resumes a pull after a reconnect by itself; this loop also starts over when the
// iterator ends for another reason (consumer recreated, a failed lookup during an outage).
// Deliveries handled at once by one subscriber.
const IN_FLIGHT = 8;

function consumeForever({ nc, stream, durable, handler, logger }: ConsumeOptions): Subscription {
  const js = jetstream(nc, { timeout: REQUEST_TIMEOUT_MS });
  const stop = new AbortController();
  let messages: ConsumerMessages | undefined;
  const inFlight = new Set<Promise<void>>();

  const loop = (async () => {
    while (!stop.signal.aborted && !nc.isClosed()) {
      try {
        const consumer = await js.consumers.get(stream, durable);
        // A few messages at a time, handled side by side: a backlog drains without one slow
        // handler holding up the rest, and little waits in a buffer while its ack timer runs.
        messages = await consumer.consume({ max_messages: IN_FLIGHT });
        if (stop.signal.aborted) messages.stop();
        for await (const msg of messages) {
          // Buffered before the stop: hand it back at once so another replica can take it.
          if (stop.signal.aborted) {
            msg.nak();
            continue;
          }
          const delivery = deliver(msg, handler, logger).finally(() => inFlight.delete(delivery));
          inFlight.add(delivery);
          if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        }
      } catch (error) {
        if (!stop.signal.aborted) logger?.warn({ durable, reason: (error as Error).message }, 'event consumer interrupted');
      }
      await sleep(1_000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();

  return {
    async close() {
      stop.abort();
      messages?.stop();
      await loop;
      await Promise.all(inFlight);
    },
  };
}

async function deliver(msg: JsMsg, handler: EventHandler, logger: EventBusOptions['logger']) {
  let event: EventEnvelope;
  try {
    event = JSON.parse(new TextDecoder().decode(msg.data)) as EventEnvelope;
  } catch {
    // Not an envelope: no retry can fix it, so stop redelivering it.
    logger?.error({ subject: msg.subject, seq: msg.seq }, 'event is not JSON; dropped');
    msg.term();
    return;
  }
  const progress = setInterval(() => msg.working(), PROGRESS_EVERY_MS);
  try {
    await handler(event);
    msg.ack();
  } catch (error) {
    const attempt = msg.info.deliveryCount;
    logger?.warn({ eventId: event.id, type: event.type, attempt, reason: (error as Error).message }, 'event handler failed; will retry');
    // 0.5 s, 1 s, then every 2 s: a quick second try, never a hot loop.
    msg.nak(Math.min(500 * 2 ** (attempt - 1), 2_000));
  } finally {
    clearInterval(progress);
  }
}
