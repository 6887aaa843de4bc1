import { expect, test } from 'vitest';
import { createEventBus } from '../create-event-bus.js';

test('createEventBus: when the URL has another scheme, then it fails naming the scheme but not the URL', async () => {
  const opening = createEventBus({ url: 'amqp://user:secret@broker:5672', name: 'test' });

  await expect(opening).rejects.toThrow('unsupported event bus URL scheme "amqp:"');
  await expect(opening).rejects.not.toThrow(/secret/);
});

test('createEventBus: when the URL is not a URL, then it fails without echoing it', async () => {
  await expect(createEventBus({ url: 'secret-value', name: 'test' })).rejects.toThrow('event bus URL is not a valid URL');
});

test('createEventBus: when NATS credentials come with a postgres:// URL, then it refuses them rather than ignore them', async () => {
  await expect(createEventBus({ url: 'postgres://u:p@db/events_db', name: 'test', user: 'order-service', password: 'x' })).rejects.toThrow(
    'EVENT_BUS_USER and EVENT_BUS_PASSWORD are for NATS',
  );
});

test.each([
  [
    { url: 'nats://u:secret-in-url@127.0.0.1:1', user: 'order-service', password: 'secret-setting' },
    'both in EVENT_BUS_URL and in EVENT_BUS_USER',
  ],
  [
    { url: 'nats://127.0.0.1:1', user: 'order-service', password: '' },
    'event bus user "order-service" has no password: set EVENT_BUS_PASSWORD too',
  ],
  [{ url: 'nats://127.0.0.1:1', user: '', password: 'secret-setting' }, 'event bus password given without a user: set EVENT_BUS_USER too'],
  [{ url: 'nats://order.service:secret-in-url@127.0.0.1:1' }, 'event bus user must match'],
])('createEventBus: when the NATS credentials are %o, then it refuses before connecting, naming no password', async (options, message) => {
  const opening = createEventBus({ name: 'test', ...options });

  await expect(opening).rejects.toThrow(message);
  await expect(opening).rejects.not.toThrow(/secret-/);
});
