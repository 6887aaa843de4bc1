import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../../logger.js';
import { createPool, runMigrations, type Pool } from '../../db.js';
import { createDatabase } from '../../testing/postgres.js';
import { createMemoryBus } from '../../testing/memory-bus.js';
import { consume } from '../inbox.js';
import { EVENTS_MIGRATIONS } from '../outbox.js';

// A handler with no idempotency of its own (it adds to a counter): only the inbox keeps a
// redelivered event from counting twice.
let pool: Pool;
const logger = createLogger('inbox-test', { level: 'silent' });

beforeAll(async () => {
  const url = await createDatabase(inject('postgresUrl'), 'inbox');
  await runMigrations({ databaseUrl: url, dir: fileURLToPath(EVENTS_MIGRATIONS) });
  pool = createPool(url, { max: 6 });
  await pool.query('CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)');
});
afterAll(async () => pool?.end());

const isCount = (payload: unknown): payload is { name: string } => typeof (payload as { name?: unknown })?.name === 'string';
const valueOf = async (name: string) => (await pool.query('SELECT value FROM counters WHERE name = $1', [name])).rows[0]?.value;

async function counting({ deliveries, failFirst = false }: { deliveries: number; failFirst?: boolean }) {
  const bus = createMemoryBus({ deliveries });
  let attempts = 0;
  const subscription = await consume({
    pool,
    bus,
    logger,
    group: `counter-${randomUUID()}`,
    type: 'counted',
    isPayload: isCount,
    handle: async (event, client) => {
      attempts += 1;
      await client.query('INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1', [
        event.payload.name,
      ]);
      if (failFirst && attempts === 1) throw new Error('crash after the effect, before the commit');
    },
  });
  return { bus, subscription, attempts: () => attempts };
}

describe('consume', () => {
  test('when every event is delivered three times at once, then each is applied once', async () => {
    const { bus, subscription } = await counting({ deliveries: 3 });
    const name = randomUUID();
    for (let i = 0; i < 10; i++)
      await bus.publish({ id: randomUUID(), type: 'counted', occurredAt: new Date().toISOString(), payload: { name } });
    await bus.idle();
    expect(await valueOf(name)).toBe(10);
    await subscription.close();
  });

  test('when the handler fails after its effect, then the effect rolls back with the record and the redelivery applies it once', async () => {
    const { bus, subscription, attempts } = await counting({ deliveries: 1, failFirst: true });
    const name = randomUUID();
    await bus.publish({ id: randomUUID(), type: 'counted', occurredAt: new Date().toISOString(), payload: { name } });
    await bus.idle();
    expect(attempts()).toBe(2);
    expect(await valueOf(name)).toBe(1);
    await subscription.close();
  });

  test('when the same event id is published again later, then nothing changes', async () => {
    const { bus, subscription } = await counting({ deliveries: 1 });
    const name = randomUUID();
    const event = { id: randomUUID(), type: 'counted', occurredAt: new Date().toISOString(), payload: { name } };
    await bus.publish(event);
    await bus.idle();
    await bus.publish(event);
    await bus.idle();
    expect(await valueOf(name)).toBe(1);
    await subscription.close();
  });
});
