/**
 * `npm run migrate`: applies each service's migrations to its own database,
 * named by USER_DATABASE_URL, PRODUCT_DATABASE_URL and ORDER_DATABASE_URL
 * (the same variables `npm start` reads). Services also migrate at boot; this
 * is for running them ahead of a deploy. One service alone:
 * `DATABASE_URL=... npm run migrate -w @mini/order-service`.
 */
import { join } from 'node:path';
import { createLogger, runMigrations } from '@mini/shared';
import { ROOT } from './stack.js';

// Product and order also take the outbox/inbox tables of @mini/shared, as they do at boot.
const EVENTS = 'packages/shared/migrations';
const targets = [
  { variable: 'USER_DATABASE_URL', dirs: ['services/user/migrations'] },
  { variable: 'PRODUCT_DATABASE_URL', dirs: [EVENTS, 'services/product/migrations'] },
  { variable: 'ORDER_DATABASE_URL', dirs: [EVENTS, 'services/order/migrations'] },
];

const logger = createLogger('migrate');
const chosen = targets.filter(({ variable }) => process.env[variable]);
if (chosen.length === 0) {
  process.stderr.write(`migrate: set at least one of ${targets.map((t) => t.variable).join(', ')}\n`);
  process.exit(1);
}
for (const { variable, dirs } of chosen) {
  const applied = await runMigrations({ databaseUrl: process.env[variable]!, dir: dirs.map((dir) => join(ROOT, dir)), logger });
  process.stdout.write(`${variable}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}\n`);
}
