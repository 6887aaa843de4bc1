import type { TestProject } from 'vitest/node';
// A relative import: global setup is loaded before the 'source' resolve condition applies, and dist/ may not exist yet.
import { startTestPostgres } from './packages/shared/src/testing/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the PostgreSQL server the whole test run shares; each file makes its own database. */
    postgresUrl: string;
  }
}

// One PostgreSQL for the whole run: starting one takes about a second, a database in it a few milliseconds.
export default async function setup(project: TestProject) {
  const postgres = await startTestPostgres();
  project.provide('postgresUrl', postgres.url);
  return async () => postgres.stop();
}
