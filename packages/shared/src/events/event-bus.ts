import { str, url } from 'envalid';
import type { Logger } from '../logger.js';

/**
 * One integration event as it crosses the broker. `id` is the de-duplication key end to end:
 * the outbox row's id, the broker's message id, and the key a consumer's inbox records.
 */
export interface EventEnvelope<P = unknown> {
  id: string;
  /** Dotted name, e.g. `order.placed`. */
  type: string;
  /** ISO-8601 time the producer stored the event. */
  occurredAt: string;
  payload: P;
}

/** Handles one delivery. Resolving acknowledges it; throwing asks for a redelivery later. */
export type EventHandler = (event: EventEnvelope) => Promise<void>;

export interface Subscription {
  /** Stops taking new deliveries and waits for the one in hand to finish (it is acknowledged or redelivered). */
  close(): Promise<void>;
}

/**
 * The broker behind one interface (NATS JetStream or a PostgreSQL-backed queue). Delivery is at
 * least once: consumers de-duplicate by `event.id` in their own database (see inbox.ts).
 */
export interface EventBus {
  /** Publishes one event; resolves once the broker has durably stored it. */
  publish(event: EventEnvelope): Promise<void>;
  /**
   * Delivers every event of `type` published from now on (and any stored but not yet acknowledged
   * for this group) to `handler`. `group` is a durable consumer: replicas sharing a group share
   * the work, each event reaching one of them; two groups each get every event.
   */
  subscribe(options: { group: string; type: string; handler: EventHandler }): Promise<Subscription>;
  /** Throws when the broker does not answer (for `/readyz`). */
  check(): Promise<void>;
  /** Closes subscriptions and the connection. */
  close(): Promise<void>;
}

export interface EventBusOptions {
  /** `nats://host:4222` for NATS JetStream, `postgres://.../events_db` for the PostgreSQL-backed queue. */
  url: string;
  /** Names this process to the broker (connection name, application_name). */
  name: string;
  logger?: Logger;
  /**
   * Keeps apart brokers' state that would otherwise be shared (tests, two stacks on one server):
   * the NATS stream name and subject prefix, the pg-boss schema. Default `events`.
   */
  namespace?: string;
  /**
   * The broker user and password (NATS; a postgres:// URL carries its own). May instead be the
   * URL's userinfo (`nats://user:pass@host:4222`), not both. The password is never logged.
   */
  user?: string;
  password?: string;
}

/** The settings of every service that takes part in events: spread them into its configSchema. */
export const eventBusSettings = {
  EVENT_BUS_URL: url({
    devDefault: 'nats://127.0.0.1:4222',
    desc: 'The broker of order events: nats://host:4222 (NATS JetStream) or postgres://.../events_db (a PostgreSQL-backed queue)',
  }),
  EVENT_BUS_NAMESPACE: str({
    default: 'events',
    desc: 'Stream and subject prefix (NATS) or schema (PostgreSQL) of the events; the same for every service',
  }),
  // Empty: no credentials, for a local broker without authorization (scripts/ensure-nats.sh).
  // Deployments give each service its own user (compose.yaml, k8s/); the broker refuses anyone else.
  EVENT_BUS_USER: str({
    default: '',
    desc: "This service's NATS user (letters, digits, - and _); the broker lets it publish and consume only its own events",
  }),
  EVENT_BUS_PASSWORD: str({ default: '', desc: 'The password of EVENT_BUS_USER (a secret: never logged)' }),
};

/** The bus options that `eventBusSettings` read, from a service's checked settings. */
export function eventBusOptionsFrom(config: {
  EVENT_BUS_URL: string;
  EVENT_BUS_NAMESPACE: string;
  EVENT_BUS_USER: string;
  EVENT_BUS_PASSWORD: string;
}): Pick<EventBusOptions, 'url' | 'namespace' | 'user' | 'password'> {
  return {
    url: config.EVENT_BUS_URL,
    namespace: config.EVENT_BUS_NAMESPACE,
    user: config.EVENT_BUS_USER,
    password: config.EVENT_BUS_PASSWORD,
  };
}
