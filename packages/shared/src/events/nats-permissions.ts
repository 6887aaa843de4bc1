import { assertEventName } from './names.js';

// The subjects the NATS adapter (nats-bus.ts) uses, in one place: the adapter names its stream,
// durables and reply inbox with these, and the broker's authorization config must allow exactly
// what they produce (deploy/lib/broker-checks.ts compares the two).

const USER = /^[A-Za-z0-9_-]+$/;

/** The stream of a namespace: its name upper-cased (`events` -> `EVENTS`). */
export function natsStreamName(namespace: string): string {
  assertEventName('namespace', namespace);
  return namespace.toUpperCase();
}

/**
 * The durable consumer of one (group, type). Durable names allow no dots; two types differing
 * only in '.' vs '_' would share a name, and the server then refuses the second filter subject.
 */
export function natsDurableName(group: string, type: string): string {
  assertEventName('group', group);
  assertEventName('type', type);
  return `${group}--${type.replaceAll('.', '_')}`;
}

/**
 * Where a connection of `user` receives its replies (JetStream API answers, pulled messages):
 * `_INBOX_<user>`, so the broker can let each user subscribe to its own replies only. Without a
 * user, the client's default `_INBOX`.
 */
export function natsInboxPrefix(user: string | undefined): string {
  if (!user) return '_INBOX';
  if (!USER.test(user)) throw new Error(`event bus user must match ${String(USER)} (it names the reply subjects _INBOX_<user>.>)`);
  return `_INBOX_${user}`;
}

/** What one service does on the broker: its NATS user, its consumer group, the types it publishes and consumes. */
export interface NatsClientRole {
  user: string;
  group: string;
  publishes: readonly string[];
  consumes: readonly string[];
}

/** A NATS user's permissions: the subjects it may publish to and subscribe to (allow lists, nothing else). */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * The least a service needs on the broker, found with nats-server 2.9.10 and @nats-io 3.3 by
 * tracing what this adapter sends, then removing each entry in turn (the saga broke every time):
 * its own event subjects; on the namespace's stream only info, create and update (every service
 * ensures the stream at start; info and update only when it has older settings; no delete or
 * purge); for each type it consumes only its own durable (create, with the filter subject in the
 * request subject, which the server checks against the request; info; next; acks); its own
 * reply inbox. Nothing lets it publish another's events, read or take another group's
 * deliveries or replies, or delete anything (__tests__/nats-permissions.test.ts shows it).
 */
export function natsPermissions(namespace: string, role: NatsClientRole): NatsPermissions {
  const stream = natsStreamName(namespace);
  const consumerSubjects = role.consumes.flatMap((type) => {
    const durable = natsDurableName(role.group, type);
    return [
      `$JS.API.CONSUMER.CREATE.${stream}.${durable}.${namespace}.${type}`,
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
    ];
  });
  return {
    publish: [
      ...role.publishes.map((type) => {
        assertEventName('type', type);
        return `${namespace}.${type}`;
      }),
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.UPDATE.${stream}`,
      ...consumerSubjects,
    ],
    subscribe: [`${natsInboxPrefix(role.user)}.>`],
  };
}
