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
  const postgres = await startTestPostgres().catch((error: unknown) => {
    // A mistake of the machine (a folder the server cannot enter): one line, not a stack.
    process.stderr.write(`npm test: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
  project.provide('postgresUrl', postgres.url);
  return async () => postgres.stop();
}
