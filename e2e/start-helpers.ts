/**
 * Runs `npm start` (scripts/start.ts), `npm run dev` and the operator commands the way a person
 * does, on free ports and a throwaway data folder, and reads what they print.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@mini/shared/testing';
import { ROOT, type ServiceName } from '../scripts/stack.js';

const FOLDERS: Record<ServiceName, string> = {
  user: 'services/user',
  product: 'services/product',
  order: 'services/order',
  gateway: 'gateway',
};

/** A data folder of its own (as root, the `postgres` user must be able to enter it). */
export async function tempDataDir(prefix = 'mini-start-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  await chmod(parent, 0o755);
  return { dir: join(parent, 'data'), remove: () => rm(parent, { recursive: true, force: true }) };
}

/** GATEWAY_PORT and the other ports npm start reads, each free. */
export async function freeStartPorts(): Promise<Record<string, string>> {
  return {
    GATEWAY_PORT: String(await freePort()),
    USER_SERVICE_PORT: String(await freePort()),
    PRODUCT_SERVICE_PORT: String(await freePort()),
    ORDER_SERVICE_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
  };
}

/** What npm start would read from the developer's shell, cleared, so only the test's own settings count. */
export const CLEAN_ENV: Record<string, string> = {
  ADMIN_USERNAME: '',
  ADMIN_PASSWORD: '',
  USER_DATABASE_URL: '',
  PRODUCT_DATABASE_URL: '',
  ORDER_DATABASE_URL: '',
  EVENT_BUS_URL: '',
  NODE_ENV: '',
  SIGNING_KEY_ENCRYPTION_KEY: '',
  LOG_LEVEL: 'warn',
};

/**
 * Every test client is 127.0.0.1: limits far above what a suite sends, so only the tests about
 * rate limits (which set their own) ever see a 429.
 */
export const GENEROUS_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_PER_MINUTE: '100000',
  RATE_LIMIT_LOGIN_PER_MINUTE: '10000',
  RATE_LIMIT_LOGIN_FAILURES_PER_USERNAME: '1000',
  RATE_LIMIT_REGISTER_PER_MINUTE: '10000',
};

/** `npm start`'s own command line, from the sources (no build), as the e2e tests run it. */
export const START_COMMAND = [process.execPath, '--conditions=source', '--import', 'tsx', 'scripts/start.ts', '--source'];

export interface RunningScript {
  child: ChildProcess;
  output(): string;
  /** Resolves with the output once `text` (a string or pattern) shows, or rejects when the script exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Ctrl-C in the terminal: SIGINT to the script's whole process group. Resolves with the exit
   * code once everything that wrote to the output is gone (npm itself exits on the signal at once).
   */
  interrupt(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `command` in a process group of its own (as a terminal would), collecting stdout and stderr together. */
export function runScript(command: string[], env: Record<string, string>, { cwd = ROOT } = {}): RunningScript {
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: { ...process.env, ...CLEAN_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ended = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
  return {
    child,
    output: () => output,
    exited,
    async waitFor(text, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
      while (!seen()) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`exited (${child.exitCode ?? child.signalCode}) before "${String(text)}":\n${output}`);
        if (Date.now() > deadline) {
          killGroup(child, 'SIGKILL');
          throw new Error(`no "${String(text)}" within ${timeoutMs} ms:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return output;
    },
    async interrupt() {
      killGroup(child, 'SIGINT');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 30_000);
      const code = await exited;
      await ended;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Starts npm start on `dataDir` and waits for its banner. */
export async function startAndWait(env: Record<string, string>, dataDir: string, command = START_COMMAND): Promise<RunningScript> {
  const script = runScript(command, { ...env, MINI_DATA_DIR: dataDir });
  await script.waitFor('Stop with Ctrl-C');
  return script;
}

/** Runs a command to its end (an operator command, a failing start), with input on stdin. */
export function runToEnd(
  command: string[],
  env: Record<string, string>,
  { input, timeoutMs = 90_000 }: { input?: string; timeoutMs?: number } = {},
) {
  const result = spawnSync(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...CLEAN_ENV, ...env },
    input: input ?? '',
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: `${result.stdout}${result.stderr}` };
}

/** `npm run <script> -- args`. */
export function npmRun(script: string, ...args: string[]): string[] {
  return ['npm', 'run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])];
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** The process of `service` that the script started (Linux: read from /proc). */
export function servicePid(scriptPid: number, service: ServiceName): number | undefined {
  // The innermost match: a wrapper (tsx watch) and the process it runs both sit in the folder.
  return descendants(scriptPid).findLast((pid) => {
    try {
      return (
        readlinkSync(`/proc/${pid}/cwd`).endsWith(FOLDERS[service]) && /main\.(js|ts)/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
      );
    } catch {
      return false;
    }
  });
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** Lines that look like a stack trace ("    at fn (file:line)"). */
export const STACK_FRAME = /^\s+at .+[:(]/m;
