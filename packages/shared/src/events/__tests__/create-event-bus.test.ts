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
