/**
 * The local data of `npm start` (MINI_DATA_DIR, default .data/): the embedded PostgreSQL's
 * folder, the generated credentials, and a lock file naming the process that uses it now, so
 * a second `npm start` or an operator command says who holds it instead of failing obscurely.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { generateKeyEncryptionKey } from '../services/user/src/key-encryption.js';
import { UserError } from './cli.js';
import { ROOT } from './stack.js';

/** Where npm start keeps its data. */
export const DATA_DIR = resolve(process.env.MINI_DATA_DIR || join(ROOT, '.data'));
export const POSTGRES_DIR = join(DATA_DIR, 'postgres');
export const CREDENTIALS_FILE = join(DATA_DIR, 'local-credentials.json');
export const SEEDED_MARKER = join(DATA_DIR, 'demo-catalog-seeded');
const LOCK_FILE = join(DATA_DIR, 'in-use.json');

export interface LocalCredentials {
  postgresPassword: string;
  adminPassword: string;
  /**
   * The user service's SIGNING_KEY_ENCRYPTION_KEY: generated per install rather than a value in the
   * repository, so a copied database is no use without this file. Absent in a file an earlier
   * version wrote until `ensureCredentials` adds it.
   */
  signingKeyEncryptionKey?: string;
}

/** `path` as a user would type it from here: relative when inside the current folder. */
export function shown(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : path;
}

/** Creates the data folder; 0755, so the `postgres` user that root runs PostgreSQL as can enter it. */
export function ensureDataDir(): void {
  if (!existsSync(DATA_DIR)) {
    mkdirSync(DATA_DIR, { recursive: true });
    chmodSync(DATA_DIR, 0o755);
  }
}

/** The credentials generated on the first start, if there was one. */
export function readCredentials(): LocalCredentials | undefined {
  return existsSync(CREDENTIALS_FILE) ? (JSON.parse(readFileSync(CREDENTIALS_FILE, 'utf8')) as LocalCredentials) : undefined;
}

/** Generated once (each missing one added later), kept in the git-ignored data folder so restarts keep working. */
export function ensureCredentials(): Required<LocalCredentials> {
  const existing = readCredentials();
  if (existing?.signingKeyEncryptionKey) return existing as Required<LocalCredentials>;
  ensureDataDir();
  const credentials = {
    postgresPassword: randomBytes(18).toString('base64url'),
    adminPassword: randomBytes(12).toString('base64url'),
    ...existing,
    signingKeyEncryptionKey: generateKeyEncryptionKey(),
  };
  // Aside and renamed over: a file cut short would lose the database password and the key.
  writeFileSync(`${CREDENTIALS_FILE}.${process.pid}`, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  renameSync(`${CREDENTIALS_FILE}.${process.pid}`, CREDENTIALS_FILE);
  return credentials;
}

interface LockRecord {
  pid: number;
  command: string;
  since: string;
  /** The processes it started, so a next start can stop them if it was killed outright. */
  children?: number[];
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process that uses the data folder now (npm start, or an operator command), if one does. */
export function dataHolder(): LockRecord | undefined {
  if (!existsSync(LOCK_FILE)) return undefined;
  try {
    const record = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockRecord;
    return Number.isInteger(record.pid) && record.pid !== process.pid && isAlive(record.pid) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The one line that says who holds the data folder and what to do. */
export function heldMessage(holder: LockRecord): string {
  return `${holder.command} is already running (pid ${holder.pid}) on the data in ${shown(DATA_DIR)}: stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), or set MINI_DATA_DIR to another folder`;
}

export interface DataLock {
  /** The record an earlier holder that is gone left behind (killed outright), if any. */
  stale?: LockRecord;
  /** Notes the processes this one started. */
  recordChildren(pids: number[]): void;
  release(): void;
}

/** Marks the data folder as used by this process until it exits; refuses when another live one holds it. */
export function lockDataDir(command: string): DataLock {
  ensureDataDir();
  const record: LockRecord = { pid: process.pid, command, since: new Date().toISOString() };
  let stale: LockRecord | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(LOCK_FILE, JSON.stringify(record), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = dataHolder();
      if (holder) throw new UserError(heldMessage(holder));
      try {
        stale = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockRecord;
      } catch {
        stale = undefined;
      }
      rmSync(LOCK_FILE, { force: true }); // left by a process that is gone
    }
  }
  const release = () => {
    try {
      if ((JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as LockRecord).pid === process.pid) rmSync(LOCK_FILE, { force: true });
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  return {
    stale,
    recordChildren(pids) {
      // Written aside and renamed over: a reader never sees half a record (and mistakes it for no holder).
      writeFileSync(`${LOCK_FILE}.${process.pid}`, JSON.stringify({ ...record, children: pids }));
      renameSync(`${LOCK_FILE}.${process.pid}`, LOCK_FILE);
    },
    release,
  };
}

/** The processes of `record` that still run the stack (a service's main.js or main.ts). */
export function leftoverChildren(record: LockRecord | undefined): number[] {
  return (record?.children ?? []).filter((pid) => isAlive(pid) && /main\.(js|ts)/.test(commandOf(pid)) && folderOf(pid).startsWith(ROOT));
}

/** The PostgreSQL server running on `dir` now (from its postmaster.pid): its pid and port. */
export function runningPostgres(dir = POSTGRES_DIR): { pid: number; port: number } | undefined {
  const file = join(dir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // A stale file (after a crash) names a dead pid.
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return { pid, port };
}

/**
 * True when `pid` is a PostgreSQL server whose parent is gone (an npm start killed with
 * SIGKILL leaves it behind), so stopping it hurts nobody. Only Linux can tell; elsewhere false.
 */
export function isOrphanedPostgres(pid: number): boolean {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return /postgres/.test(command) && (parent === 1 || !isAlive(parent) || !/node|npm|tsx/.test(commandOf(parent)));
  } catch {
    return false;
  }
}

function folderOf(pid: number): string {
  try {
    return `${readlinkSync(`/proc/${pid}/cwd`)}/`;
  } catch {
    return '';
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
