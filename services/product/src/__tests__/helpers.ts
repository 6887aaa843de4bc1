import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createLogger, createPool, createTokenVerifier, EVENTS_MIGRATIONS, runMigrations, type App, type Pool } from '@mini/shared';
import { createDatabase, createTestIssuer } from '@mini/shared/testing';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../app.js';

const migrationsDirs = [fileURLToPath(EVENTS_MIGRATIONS), fileURLToPath(new URL('../../migrations', import.meta.url))];

export type TestIssuer = Awaited<ReturnType<typeof createTestIssuer>>;

/** The real app on a fresh, migrated database of its own, with tokens from a stand-in issuer. */
export async function startProductApp(): Promise<{ app: App; pool: Pool; issuer: TestIssuer; close: () => Promise<void> }> {
  const databaseUrl = await createDatabase(inject('postgresUrl'), 'product');
  await runMigrations({ databaseUrl, dir: migrationsDirs });
  const pool = createPool(databaseUrl, { max: 4 });
  const issuer = await createTestIssuer();
  const app = await buildApp({
    pool,
    logger: createLogger('product-service', { level: 'silent' }),
    verifyToken: createTokenVerifier({ keys: issuer.keys, issuer: issuer.issuer, audience: issuer.audience }),
  });
  await app.ready();
  return {
    app,
    pool,
    issuer,
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}

/** A token no test row can depend on: names built from it are found only by the test that made it. */
export function uniqueToken(): string {
  return `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}
