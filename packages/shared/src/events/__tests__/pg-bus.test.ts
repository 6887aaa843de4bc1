import { inject } from 'vitest';
import { createDatabase } from '../../testing/postgres.js';
import { describeEventBusContract } from './contract.js';

// A database of its own, as the stack gives the bus `events_db`; the suite's buses share one schema.
describeEventBusContract('pg-boss', async () => ({
  url: await createDatabase(inject('postgresUrl'), 'events'),
  namespace: 'events_contract',
  cleanup: async () => undefined,
}));
