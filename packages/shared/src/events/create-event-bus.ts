import type { EventBus, EventBusOptions } from './event-bus.js';

/**
 * Opens the event bus the URL names: `nats://` or `tls://` for NATS JetStream, `postgres://` or
 * `postgresql://` for the pg-boss queue. Only the chosen adapter's client library is loaded.
 * `user`/`password` are NATS credentials (see `EventBusOptions`).
 */
export async function createEventBus(options: EventBusOptions): Promise<EventBus> {
  const scheme = schemeOf(options.url);
  switch (scheme) {
    case 'nats:':
    case 'tls:': {
      const { createNatsEventBus } = await import('./nats-bus.js');
      return createNatsEventBus(options);
    }
    case 'postgres:':
    case 'postgresql:': {
      // Ignoring them would connect as someone else than the operator meant.
      if (options.user || options.password)
        throw new Error(
          'EVENT_BUS_USER and EVENT_BUS_PASSWORD are for NATS: a postgres:// EVENT_BUS_URL carries its own user and password',
        );
      const { createPgEventBus } = await import('./pg-bus.js');
      return createPgEventBus(options);
    }
    default:
      // Names only the scheme: the rest of the URL may hold a password.
      throw new Error(`unsupported event bus URL scheme "${scheme}": expected nats:, tls:, postgres: or postgresql:`);
  }
}

function schemeOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    throw new Error('event bus URL is not a valid URL');
  }
}
