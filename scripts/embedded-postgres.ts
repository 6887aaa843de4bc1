/** The embedded PostgreSQL that `npm start` (and the operator commands) run when no external database is configured. */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
// By path, like the test global setup: this runs before anything is built.
import { findPostgresAccessProblem, importEmbeddedPostgres } from '../packages/shared/src/testing/embedded-postgres.js';
import { UserError } from './cli.js';
import { isAlive, isOrphanedPostgres, runningPostgres, shown } from './local-data.js';

export interface LocalPostgres {
  adminUrl: string;
  /** URL of `name`, created when it does not exist yet. */
  database(name: string): Promise<string>;
  /** URLs of several databases, created as needed over one connection. */
  databases<N extends string>(names: N[]): Promise<Record<N, string>>;
  stop(): Promise<void>;
}

/** The URL of database `name` on the embedded server. */
export function localDatabaseUrl({ port, password }: { port: number; password: string }, name: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
}

/**
 * One line saying what to do when, as root, the `postgres` user that PostgreSQL runs as cannot
 * reach its programs or `dataDir`; null when it can (or when not root).
 */
export async function postgresAccessMessage(dataDir: string): Promise<string | null> {
  const problem = await findPostgresAccessProblem(dataDir);
  if (!problem) return null;
  const what = `as root, the embedded PostgreSQL runs as the "postgres" user, who cannot enter ${problem.dir} (mode ${problem.mode})`;
  switch (problem.towards) {
    case 'programs':
      return `${what}, where its programs are (node_modules): move the project to a folder that user can enter (e.g. under /srv or /opt), or run as a normal user`;
    case 'data':
      return `${what}, on the way to the data folder ${shown(dataDir)}: set MINI_DATA_DIR to a folder it can reach (e.g. MINI_DATA_DIR=/var/tmp/mini-ecommerce), or run as a normal user`;
    case 'temporary files':
      return `${what}, the temporary folder: set TMPDIR to one it can reach (e.g. TMPDIR=/tmp), or run as a normal user`;
  }
}

export async function startLocalPostgres({
  dataDir,
  port,
  password,
  log = (line) => process.stdout.write(`${line}\n`),
}: {
  dataDir: string;
  port: number;
  password: string;
  log?: (line: string) => void;
}): Promise<LocalPostgres> {
  const access = await postgresAccessMessage(dataDir);
  if (access) throw new UserError(access);
  const running = runningPostgres(dataDir);
  if (running) {
    // The caller holds the data folder's lock, so no live npm start owns this server: one that was
    // killed outright left it behind. Stop it rather than make the user hunt for it.
    if (!isOrphanedPostgres(running.pid)) {
      throw new UserError(
        `the PostgreSQL in ${shown(dataDir)} is already running (pid ${running.pid}): is another npm start still up? Stop it (or that pid) first`,
      );
    }
    log(`[start] stopping the PostgreSQL an earlier npm start left running (pid ${running.pid})`);
    await stopServerProcess(running.pid);
  }
  const EmbeddedPostgres = await importEmbeddedPostgres();
  // Its own messages are kept quiet unless it fails to start; then its reason is the one line shown.
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    onLog: (message) => {
      recent.push(...String(message).split('\n').filter(Boolean));
      recent.splice(0, Math.max(0, recent.length - 20));
    },
    onError: (message) => process.stderr.write(`[postgres] ${String(message)}`),
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await server.initialise();
  const process_ = await spawnPostgres({ dataDir, port, url: localDatabaseUrl({ port, password }, 'postgres'), log: recent });
  const adminUrl = localDatabaseUrl({ port, password }, 'postgres');
  const databases = async <N extends string>(names: N[]) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names]);
      const present = new Set(rows.map((row) => row.datname));
      for (const name of names) if (!present.has(name)) await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return Object.fromEntries(names.map((name) => [name, localDatabaseUrl({ port, password }, name)])) as Record<N, string>;
  };
  return {
    adminUrl,
    databases,
    database: async (name) => (await databases([name]))[name] as string,
    stop: () => process_.stop(),
  };
}

/**
 * Runs the server itself (the library's start() would put it in our process group, where a
 * Ctrl-C stops it before the services that use it, and they log lost connections). As root, as
 * the `postgres` user; its log goes to postgres.log beside the data folder.
 */
async function spawnPostgres({ dataDir, port, url, log }: { dataDir: string; port: number; url: string; log: string[] }) {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const ids = process.getuid?.() === 0 ? { uid: idOf('-u'), gid: idOf('-g') } : {};
  const logFile = join(dirname(dataDir), 'postgres.log');
  const logFd = openSync(logFile, 'w'); // this run's log only
  const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port)], {
    ...ids,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null || child.signalCode !== null || waited > 60_000) {
      const lines = readFileSync(logFile, 'utf8').trim().split('\n').slice(-20);
      const reason = [...log, ...lines].filter((line) => /FATAL|PANIC/.test(line)).pop() ?? lines.pop() ?? 'it exited at once';
      child.kill('SIGKILL');
      throw new UserError(
        `the embedded PostgreSQL in ${shown(dataDir)} did not start on port ${port}: ${reason.trim()} (its log: ${shown(logFile)})`,
      );
    }
    if (await accepts(url)) break;
    await sleep(100);
  }
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, the data stays consistent.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false; // not listening yet, or "the database system is starting up"
  } finally {
    await client.end().catch(() => undefined);
  }
}

// SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and stops cleanly.
async function stopServerProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 15_000)
      throw new UserError(`the PostgreSQL left running (pid ${pid}) does not stop: kill it (kill -9 ${pid}) and try again`);
    await sleep(100);
  }
}
